"""`regiobot check-config`: does this configuration work here?

After the file itself (validated by `load_config`, the store key required), it checks that the
store key opens the bot's key store, that the database answers, that
the homeserver can be reached and takes the credentials, and, for every room the bot is in,
its power level there and whether it may post messages. A password login uses a device of its
own that is logged out at the end, so the bot's device and its keys are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient, AsyncClientConfig, MatrixRoom, SyncResponse

from bot.config import Config
from bot.keystore import StoreState, store_state
from bot.matrix import FIRST_SYNC_FILTER, LoginFailed, log_in
from rules.i18n import bilingual
from storage import state
from storage.db import Database

REQUEST_TIMEOUT = 15.0  # seconds per request to the homeserver
DATABASE_TIMEOUT = 10.0
MESSAGE_EVENT = "m.room.message"


@dataclass(frozen=True)
class Finding:
    """One result: `key` names its text in the catalogues (section [check])."""

    ok: bool
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RoomFacts:
    """What matters about one room the bot is in."""

    room_id: str
    name: str
    level: int  # the bot's power level
    required: int  # the level m.room.message needs


def room_findings(rooms: Iterable[RoomFacts]) -> list[Finding]:
    """A finding per room: fine, or not allowed to post."""
    findings = []
    for room in sorted(rooms, key=lambda r: (r.name.lower(), r.room_id)):
        params = {"room": room.name, "room_id": room.room_id, "level": room.level, "required": room.required}
        if room.level < room.required:
            findings.append(Finding(False, "check.room_cannot_send", params))
        else:
            findings.append(Finding(True, "check.room_ok", params))
    return findings or [Finding(True, "check.no_rooms")]


def room_facts(room: MatrixRoom, user_id: str) -> RoomFacts:
    levels = room.power_levels
    return RoomFacts(
        room.room_id,
        room.display_name,
        levels.get_user_level(user_id),
        levels.get_message_event_required_level(MESSAGE_EVENT),
    )


def reason(exc: BaseException) -> str:
    """The first line of what went wrong, without SQLAlchemy's wrapping."""
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]


async def check_database(url: str) -> list[Finding]:
    """Whether the database answers, and whether the bot noted lately that the homeserver is
    rate-limiting it."""
    database = Database(url)
    try:
        if database.sqlite_file and not database.sqlite_file.exists():
            return [Finding(True, "check.database_new", {"path": str(database.sqlite_file)})]
        await asyncio.wait_for(database.ping(), DATABASE_TIMEOUT)
        found = [Finding(True, "check.database_ok", {"kind": database.engine.dialect.name})]
        async with database.transaction() as s:
            limited = await state.rate_limited_lately(s, datetime.now(UTC))
        if limited is not None:
            found.append(Finding(False, "check.rate_limited", {"last": limited.isoformat(timespec="minutes")}))
        return found
    except Exception as exc:  # whatever it is, the bot could not use this database
        return [Finding(False, "check.database_failed", {"reason": reason(exc)})]
    finally:
        await database.close()


async def check_matrix(config: Config) -> list[Finding]:
    matrix = config.matrix
    client = AsyncClient(
        matrix.homeserver,
        matrix.user_id,
        config=AsyncClientConfig(
            max_timeouts=0, request_timeout=REQUEST_TIMEOUT, store_sync_tokens=False, encryption_enabled=False
        ),
    )
    logged_in = False
    try:
        await log_in(client, matrix, device_name="regiobot check-config")
        logged_in = True
        found = [Finding(True, "check.login_ok", {"user_id": client.user_id})]
        response = await client.sync(timeout=0, full_state=True, sync_filter=FIRST_SYNC_FILTER)
        if not isinstance(response, SyncResponse):
            return [*found, Finding(False, "check.sync_failed", {"reason": getattr(response, "message", response)})]
        found += room_findings(room_facts(room, str(client.user_id)) for room in client.rooms.values())
        if response.rooms.invite:
            found.append(Finding(True, "check.invited", {"count": len(response.rooms.invite)}))
        return found
    except (ClientError, TimeoutError) as exc:
        return [Finding(False, "check.unreachable", {"homeserver": matrix.homeserver, "reason": reason(exc)})]
    except LoginFailed as exc:
        return [Finding(False, "check.login_failed", {"user_id": matrix.user_id, "reason": reason(exc)})]
    finally:
        if logged_in and not matrix.access_token:
            with contextlib.suppress(ClientError, TimeoutError):
                await client.logout()  # removes the device this check logged in with
        await client.close()


def check_store(config: Config) -> Finding:
    """Whether the store key opens the bot's key store in store_dir (read only)."""
    matrix = config.matrix
    state = store_state(matrix.store_dir, matrix.user_id, matrix.device_id, matrix.store_key)
    return Finding(state != StoreState.WRONG_KEY, f"check.store_{state}", {"path": str(matrix.store_dir)})


def check_web(config: Config) -> Finding:
    """Where the calendar feeds and pages are served, if anywhere."""
    if config.web is None:
        return Finding(True, "check.web_off")
    host, port = config.web.listen
    return Finding(True, "check.web_ok", {"listen": f"{host}:{port}", "url": config.web.url("/archiv")})


async def check(config: Config, path: str) -> list[Finding]:
    """Everything `regiobot check-config` looks at, in order."""
    return [
        Finding(True, "check.config_ok", {"path": path}),
        check_web(config),
        check_store(config),
        *await check_database(config.storage_url),
        *await check_matrix(config),
    ]


def render(findings: list[Finding]) -> list[str]:
    """One line per finding, German first, English second."""
    lines = [f"{'✓' if f.ok else '✗'} {bilingual(f.key, **f.params)}" for f in findings]
    problems = sum(not f.ok for f in findings)
    lines.append(bilingual("check.problems", count=problems) if problems else bilingual("check.all_good"))
    return lines
