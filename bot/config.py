"""Loading and validating the TOML configuration. No side effects beyond reading the file."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.board import DEFAULT_CATEGORIES
from rules.errors import UserError
from rules.i18n import LANGUAGES
from rules.municipalities import Directory, shipped
from rules.session_fields import parse_region

_USER_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
_ROOM_ID = re.compile(r"^![^\s]{1,254}$")  # opaque; before room version 12 it ends in :server
_DURATION = re.compile(r"^(\d+)\s*(d|h|m|s)$")
_DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
STORAGE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
MIN_STORE_KEY = 16


class ConfigError(Exception):
    """The configuration is unusable; `key` names the offending setting."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: str | None = field(repr=False)  # secrets: never in a repr, a log line or a traceback
    access_token: str | None = field(repr=False)
    device_id: str
    store_dir: Path
    allowed_servers: tuple[str, ...]
    # Encrypts the encryption keys kept in store_dir (nio's pickle key); never shown.
    store_key: str = field(default="", repr=False)

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]


@dataclass(frozen=True)
class RolesConfig:
    coordinators: frozenset[str] = frozenset()
    moderators: frozenset[str] = frozenset()
    coordinator_power_level: int = 100
    moderator_power_level: int = 50


@dataclass(frozen=True)
class WebConfig:
    """`[web]`: where the bot serves its calendar feeds and public pages, and the address people
    reach them at (behind a reverse proxy, usually another)."""

    listen: tuple[str, int]
    public_url: str  # without a trailing slash
    # Reverse proxies whose X-Forwarded-For names the client (request limits count per client).
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = (ip_network("127.0.0.1"), ip_network("::1"))
    # The Matrix clients (their origins, e.g. https://app.element.io) that may show the room widget
    # `/widget` in a frame; none: the widget cannot be framed anywhere.
    widget_hosts: tuple[str, ...] = ()

    def url(self, path: str) -> str:
        return f"{self.public_url}{path}"

    @property
    def root(self) -> str:
        """The path of the public address ("" at the top of its host): the pages link below it."""
        return urlsplit(self.public_url).path


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig
    storage_url: str
    timezone: ZoneInfo
    language: str = "de"
    metrics_listen: tuple[str, int] | None = None  # host and port of /healthz and /metrics; None: off
    # /healthz turns unhealthy when a message has waited longer than this in the outbox.
    outbox_alert_after: timedelta = timedelta(minutes=15)
    command_prefix: str = "!"
    default_capacity: int | None = None
    session_minutes: int = 60
    commands_per_minute: int = 20
    roles: RolesConfig = field(default_factory=RolesConfig)
    announce_before: tuple[timedelta, ...] = ()
    remind_before: tuple[timedelta, ...] = ()
    grace: timedelta = timedelta(hours=6)
    # The feedback question goes to everyone registered this long after a session ended.
    feedback_after: timedelta = timedelta(minutes=15)
    retention_days: int = 90
    # Rooms the bot serves officially, from `[rooms]`: room id → region ("Bielefeld", "Paderborn"
    # or "Bielefeld, Paderborn"). `!raum freischalten` adds more at run time.
    official_rooms: Mapping[str, str] = field(default_factory=dict)
    # The regions' municipalities: the shipped directory with `[municipalities]` add and remove.
    municipalities: Directory = field(default_factory=shipped)
    web: WebConfig | None = None  # the calendar feeds and public pages; None: off
    board: BoardConfig = field(default_factory=lambda: BoardConfig())


@dataclass(frozen=True)
class BoardConfig:
    """`[board]`: the categories of the cooperation board, how long an entry lives, how long before
    that its author is asked to renew it, and the board room (else the one `!raum brett` chose)."""

    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    expiry: timedelta = timedelta(days=90)
    renew_notice: timedelta = timedelta(days=14)
    room: str | None = None


def require_store_key(matrix: MatrixConfig) -> None:
    """ConfigError unless the secret key for the encryption store is set (the bot always runs with
    end-to-end encryption: without it, nio would encrypt its keys with a key known to everyone)."""
    if len(matrix.store_key) < MIN_STORE_KEY:
        missing = not matrix.store_key
        raise ConfigError(
            "[matrix] store_key",
            f"{'fehlt' if missing else 'zu kurz'}: ein geheimer Schlüssel (mindestens {MIN_STORE_KEY} Zeichen), "
            "mit dem der Bot die Verschlüsselungsschlüssel in store_dir verschlüsselt; REGIOBOT_STORE_KEY setzen "
            "(z. B. openssl rand -hex 32) oder store_key angeben / "
            f"{'missing' if missing else 'too short'}: a secret key (at least {MIN_STORE_KEY} characters) "
            "that encrypts the encryption keys in store_dir; set REGIOBOT_STORE_KEY (e.g. openssl rand -hex 32) "
            "or store_key",
        )


def check_storage_url(url: str, key: str) -> str:
    """`url` if the bot can use it (SQLite through aiosqlite, PostgreSQL through asyncpg);
    otherwise ConfigError naming `key`."""
    if not url.startswith(STORAGE_SCHEMES):
        raise ConfigError(
            key, f"muss mit {' oder '.join(STORAGE_SCHEMES)} beginnen / must start with {' or '.join(STORAGE_SCHEMES)}"
        )
    return url


def parse_listen(text: str) -> tuple[str, int]:
    """'127.0.0.1:9108', '[::1]:9108', '0.0.0.0:9108' → (host, port); ValueError otherwise."""
    parts = urlsplit(f"//{text.strip()}")
    if not parts.hostname or parts.port is None or parts.port == 0 or parts.path or parts.query:
        raise ValueError(text)
    return parts.hostname, parts.port


def parse_duration(text: str) -> timedelta:
    """'14d', '1d', '2h', '15m', '30s' → timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(text)
    return timedelta(**{_DURATION_UNITS[match.group(2)]: int(match.group(1))})


class _Reader:
    """Typed access to one TOML table, raising ConfigError with the full key name."""

    def __init__(self, data: Mapping[str, Any], section: str) -> None:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}]", "muss eine Tabelle sein / must be a table")
        self.table = table
        self.section = section

    def key(self, name: str) -> str:
        return f"[{self.section}] {name}"

    def get(self, name: str, kind: type, default: Any = None, required: bool = False) -> Any:
        if name not in self.table:
            if required:
                raise ConfigError(self.key(name), "fehlt / is missing")
            return default
        value = self.table[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise ConfigError(self.key(name), f"muss vom Typ {kind.__name__} sein / must be a {kind.__name__}")
        return value

    def user_ids(self, name: str) -> frozenset[str]:
        values = self.get(name, list, [])
        for value in values:
            if not isinstance(value, str) or not _USER_ID.match(value):
                raise ConfigError(
                    self.key(name),
                    f"{value!r} ist keine Matrix-ID wie @name:server / is not a Matrix user id like @name:server",
                )
        return frozenset(values)

    def durations(self, name: str, default: list[str]) -> tuple[timedelta, ...]:
        values = self.get(name, list, default)
        return tuple(sorted({self._duration(name, str(v)) for v in values}, reverse=True))

    def duration(self, name: str, default: str) -> timedelta:
        return self._duration(name, self.get(name, str, default))

    def _duration(self, name: str, text: str) -> timedelta:
        try:
            return parse_duration(text)
        except ValueError:
            raise ConfigError(
                self.key(name), f'{text!r} ist keine Dauer wie "14d", "2h" oder "15m" / is not a duration'
            ) from None


def load_config(path: Path, environ: Mapping[str, str]) -> Config:
    """Read and validate the config at `path`; secrets may come from `environ`."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "Datei nicht gefunden / file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"kein gültiges TOML / not valid TOML ({exc})") from None
    return parse_config(data, environ, base_dir=path.parent)


def parse_config(data: Mapping[str, Any], environ: Mapping[str, str], base_dir: Path) -> Config:
    """Validate parsed TOML `data` into a Config."""
    matrix = _Reader(data, "matrix")
    homeserver = matrix.get("homeserver", str, required=True)
    if urlparse(homeserver).scheme not in ("http", "https") or not urlparse(homeserver).netloc:
        raise ConfigError(
            matrix.key("homeserver"), "muss eine URL wie https://matrix.example.org sein / must be an http(s) URL"
        )
    user_id = matrix.get("user_id", str, required=True)
    if not _USER_ID.match(user_id):
        raise ConfigError(
            matrix.key("user_id"), "muss eine Matrix-ID wie @regiobot:example.org sein / must be a Matrix user id"
        )
    password = environ.get("REGIOBOT_PASSWORD") or matrix.get("password", str)
    token = environ.get("REGIOBOT_ACCESS_TOKEN") or matrix.get("access_token", str)
    if not password and not token:
        raise ConfigError(
            matrix.key("password"),
            "password oder access_token angeben (oder REGIOBOT_PASSWORD / "
            "REGIOBOT_ACCESS_TOKEN setzen) / set a password or access token",
        )
    device_id = matrix.get("device_id", str, "REGIOBOT")
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", device_id):
        raise ConfigError(matrix.key("device_id"), "nur Buchstaben, Ziffern, - und _ / letters, digits, - and _ only")
    store_dir = base_dir / matrix.get("store_dir", str, "store")
    store_key = environ.get("REGIOBOT_STORE_KEY") or matrix.get("store_key", str, "")
    server_name = user_id.split(":", 1)[1]
    allowed = matrix.get("allowed_servers", list, [server_name])
    if not all(isinstance(s, str) and s for s in allowed):
        raise ConfigError(
            matrix.key("allowed_servers"), "muss eine Liste von Servernamen sein / must be a list of server names"
        )

    storage = _Reader(data, "storage")
    url = check_storage_url(
        storage.get("url", str, f"sqlite+aiosqlite:///{base_dir / 'regiobot.db'}"), storage.key("url")
    )
    metrics = _Reader(data, "metrics")
    listen = metrics.get("listen", str)
    try:
        metrics_listen = parse_listen(listen) if listen is not None else None
    except ValueError:
        raise ConfigError(
            metrics.key("listen"),
            f'{listen!r} ist keine Adresse wie "127.0.0.1:9108" / is not an address like 127.0.0.1:9108',
        ) from None

    web = _web(_Reader(data, "web"))

    bot = _Reader(data, "bot")
    zone_name = bot.get("timezone", str, "Europe/Berlin")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            bot.key("timezone"), f'unbekannte Zeitzone {zone_name!r}, z. B. "Europe/Berlin" / unknown time zone'
        ) from None
    language = bot.get("language", str, "de")
    if language not in LANGUAGES:
        raise ConfigError(bot.key("language"), f"muss eine von {', '.join(LANGUAGES)} sein / must be one of them")
    prefix = bot.get("command_prefix", str, "!")
    if not prefix or any(c.isspace() for c in prefix) or len(prefix) > 3:
        raise ConfigError(
            bot.key("command_prefix"),
            'ein bis drei Zeichen ohne Leerzeichen, z. B. "!" / one to three non-space characters',
        )
    capacity = bot.get("default_capacity", int)
    if capacity is not None and capacity < 1:
        raise ConfigError(bot.key("default_capacity"), "muss mindestens 1 sein / must be at least 1")
    minutes = bot.get("session_minutes", int, 60)
    if not 5 <= minutes <= 24 * 60:
        raise ConfigError(bot.key("session_minutes"), "zwischen 5 und 1440 / between 5 and 1440")

    per_minute = bot.get("commands_per_minute", int, 20)
    if not 1 <= per_minute <= 1000:
        raise ConfigError(bot.key("commands_per_minute"), "zwischen 1 und 1000 / between 1 and 1000")

    roles = _Reader(data, "roles")
    coordinator_level = roles.get("coordinator_power_level", int, 100)
    moderator_level = roles.get("moderator_power_level", int, 50)
    if not 1 <= coordinator_level <= 100:
        raise ConfigError(roles.key("coordinator_power_level"), "zwischen 1 und 100 / between 1 and 100")
    if not 1 <= moderator_level <= coordinator_level:
        raise ConfigError(
            roles.key("moderator_power_level"),
            f"zwischen 1 und coordinator_power_level ({coordinator_level}); 0 machte jeden zur Moderation / "
            f"between 1 and coordinator_power_level ({coordinator_level}); 0 would make everyone a moderator",
        )
    rooms = _official_rooms(data.get("rooms", {}))
    schedule = _Reader(data, "schedule")
    privacy = _Reader(data, "privacy")
    retention = privacy.get("retention_days", int, 90)
    if not 1 <= retention <= 3650:
        raise ConfigError(privacy.key("retention_days"), "zwischen 1 und 3650 / between 1 and 3650")
    return Config(
        matrix=MatrixConfig(
            homeserver=homeserver.rstrip("/"),
            user_id=user_id,
            password=password,
            access_token=token,
            device_id=device_id,
            store_dir=store_dir,
            allowed_servers=tuple(allowed),
            store_key=store_key,
        ),
        storage_url=url,
        metrics_listen=metrics_listen,
        outbox_alert_after=metrics.duration("outbox_alert_after", "15m"),
        timezone=zone,
        language=language,
        command_prefix=prefix,
        default_capacity=capacity,
        session_minutes=minutes,
        commands_per_minute=per_minute,
        roles=RolesConfig(
            coordinators=roles.user_ids("coordinators"),
            moderators=roles.user_ids("moderators"),
            coordinator_power_level=coordinator_level,
            moderator_power_level=moderator_level,
        ),
        announce_before=schedule.durations("announce_before", ["14d", "2d"]),
        remind_before=schedule.durations("remind_before", ["1d", "15m"]),
        grace=schedule.duration("grace", "6h"),
        feedback_after=schedule.duration("feedback_after", "15m"),
        retention_days=retention,
        official_rooms=rooms,
        board=_board(_Reader(data, "board"), rooms),
        municipalities=_municipalities(data.get("municipalities", {})),
        web=web,
    )


def _web(web: _Reader) -> WebConfig | None:
    """`[web] listen` and `public_url`: both, or neither (off)."""
    listen, public_url = web.get("listen", str), web.get("public_url", str)
    if listen is None and public_url is None:
        return None
    if listen is None:
        raise ConfigError(web.key("listen"), 'fehlt, z. B. "127.0.0.1:8080" / is missing, e.g. "127.0.0.1:8080"')
    try:
        address = parse_listen(listen)
    except ValueError:
        raise ConfigError(
            web.key("listen"),
            f'{listen!r} ist keine Adresse wie "127.0.0.1:8080" / is not an address like 127.0.0.1:8080',
        ) from None
    parts = urlsplit(public_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            web.key("public_url"),
            "die Adresse, unter der man die Seiten erreicht, z. B. https://regiobot.example.org / "
            "the address people reach the pages at, e.g. https://regiobot.example.org",
        )
    proxies = web.get("trusted_proxies", list, ["127.0.0.1", "::1"])
    try:
        trusted = tuple(ip_network(str(proxy), strict=False) for proxy in proxies)
    except ValueError:
        raise ConfigError(
            web.key("trusted_proxies"),
            'Adressen oder Netze wie "127.0.0.1" oder "172.16.0.0/12" / '
            'addresses or networks like "127.0.0.1" or "172.16.0.0/12"',
        ) from None
    return WebConfig(address, (public_url or "").rstrip("/"), trusted, _widget_hosts(web))


def _widget_hosts(web: _Reader) -> tuple[str, ...]:
    """`[web] widget_hosts`: origins like "https://app.element.io" (scheme, host, maybe a port)."""
    hosts = web.get("widget_hosts", list, [])
    checked = []
    for host in hosts:
        parts = urlsplit(host if isinstance(host, str) else "")
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
            raise ConfigError(
                web.key("widget_hosts"),
                f"{host!r} ist keine Adresse wie https://app.element.io / is not an origin like https://app.element.io",
            )
        checked.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(checked)


def _board(board: _Reader, rooms: Mapping[str, str]) -> BoardConfig:
    """`[board]`: categories (a list of names), `expire_days`, `renew_notice_days`, `room` (one of
    the official rooms of `[rooms]`)."""
    categories = board.get("categories", list, list(DEFAULT_CATEGORIES))
    if not categories or not all(isinstance(c, str) and c.strip() for c in categories):
        raise ConfigError(board.key("categories"), "eine Liste von Namen / a list of names")
    expire_days = board.get("expire_days", int, 90)
    if not 1 <= expire_days <= 3650:
        raise ConfigError(board.key("expire_days"), "zwischen 1 und 3650 / between 1 and 3650")
    notice_days = board.get("renew_notice_days", int, 14)
    if not 0 <= notice_days < expire_days:
        raise ConfigError(
            board.key("renew_notice_days"),
            "zwischen 0 und expire_days (ausschließlich) / between 0 and expire_days (exclusive)",
        )
    room = board.get("room", str)
    if room is not None and room not in rooms:
        raise ConfigError(
            board.key("room"), "muss einer der offiziellen Räume aus [rooms] sein / must be an official room of [rooms]"
        )
    return BoardConfig(
        tuple(" ".join(c.split()) for c in categories),
        timedelta(days=expire_days),
        timedelta(days=notice_days),
        room,
    )


def _official_rooms(table: Any) -> dict[str, str]:
    """`[rooms]`: `"!room:server" = "Bielefeld" | "Paderborn" | "beide"`."""
    if not isinstance(table, Mapping):
        raise ConfigError("[rooms]", "eine Tabelle Raum-ID = Region / a table room id = region")
    rooms: dict[str, str] = {}
    for room_id, region in table.items():
        if not _ROOM_ID.match(room_id):
            raise ConfigError(
                f"[rooms] {room_id}", "keine Raum-ID wie !abc:example.org / not a room id like !abc:example.org"
            )
        try:
            rooms[room_id] = parse_region(str(region))
        except UserError:
            raise ConfigError(
                f"[rooms] {room_id}", "Region Bielefeld, Paderborn oder beide / region Bielefeld, Paderborn or beide"
            ) from None
    return rooms


def _municipalities(table: Any) -> Directory:
    """`[municipalities]`: `add` and `remove`, each a table region = list of names, applied to the
    shipped directory."""
    if not isinstance(table, Mapping):
        raise ConfigError("[municipalities]", "muss eine Tabelle sein / must be a table")
    directory = shipped()
    changes: dict[str, dict[str, list[str]]] = {}
    for action in ("add", "remove"):
        key = f"[municipalities] {action}"
        by_region = table.get(action, {})
        if not isinstance(by_region, Mapping):
            raise ConfigError(key, "eine Tabelle Region = [Namen] / a table region = [names]")
        for region, names in by_region.items():
            if region not in directory.regions:
                raise ConfigError(
                    f"{key} {region}",
                    f"Region {' oder '.join(directory.regions)} / region {', '.join(directory.regions)}",
                )
            if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
                raise ConfigError(f"{key} {region}", "eine Liste von Namen / a list of names")
            changes.setdefault(action, {})[region] = [" ".join(n.split()) for n in names]
    try:
        return directory.edited(changes.get("add", {}), changes.get("remove", {}))
    except ValueError as exc:
        raise ConfigError(
            "[municipalities] remove", f"{exc} steht nicht im Verzeichnis dieser Region / is not in that region's list"
        ) from None
