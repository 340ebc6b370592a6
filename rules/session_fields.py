"""The fields of a session as coordinators write them (pure): `Feld: Wert`, per line or with `|`.

`!termin neu Titel | Wann | Plätze: 30` and the multi-line form

    !termin neu
    Titel: Kommunale Wärmeplanung
    Wann: Do 10.12. 14–15 Uhr
    Plätze: 30

give the same values; `!termin ändern #N Feld: Wert` uses the same fields.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from rules.cleaning import clean, invisible
from rules.dates import parse_when
from rules.errors import UserError

FIELDS = {
    "titel": "title",
    "title": "title",
    "wann": "when",
    "when": "when",
    "datum": "when",
    "termin": "when",
    "input": "talk",
    "vortrag": "talk",
    "talk": "talk",
    "referent": "speaker",
    "referentin": "speaker",
    "referent/in": "speaker",
    "referent*in": "speaker",
    "speaker": "speaker",
    "beschreibung": "description",
    "description": "description",
    "plätze": "capacity",
    "plaetze": "capacity",
    "places": "capacity",
    "capacity": "capacity",
    "link": "link",
    "anmeldeschluss": "registration_deadline",
    "deadline": "registration_deadline",
    "region": "region",
    "raum": "room_id",
    "room": "room_id",
}
FIELD_LIST = "Titel, Wann, Input, Referent, Beschreibung, Plätze, Link, Anmeldeschluss, Region, Raum"
ROOM_ID = re.compile(r"^![^\s|]{1,254}$")  # opaque; before room version 12 it ends in :server
REGIONS = {"bielefeld": "Bielefeld", "paderborn": "Paderborn"}
BOTH_REGIONS = ("beide", "both", "bielefeld und paderborn", "bielefeld, paderborn", "paderborn und bielefeld")
UNLIMITED = ("unbegrenzt", "unlimited", "-", "keine")
MAX_LENGTH = {"title": 200, "talk": 300, "speaker": 200, "description": 2000}
MAX_CAPACITY = 10_000


def split_fields(text: str) -> list[tuple[str, str]]:
    """'Feld: Wert' entries, one per line or separated by |; UserError for anything else."""
    separator = "\n" if "\n" in text.strip() else "|"
    entries = []
    for raw in text.split(separator):
        entry = raw.strip()
        if not entry:
            continue
        name, colon, value = entry.partition(":")
        field = FIELDS.get(name.strip().lower())
        if not colon or field is None:
            raise UserError("fields.unknown", entry=entry, fields=FIELD_LIST)
        entries.append((field, value.strip()))
    return entries


def _capacity(value: str) -> int | None:
    if value.lower() in UNLIMITED:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_CAPACITY:
        raise UserError("fields.bad_capacity", value=value, maximum=MAX_CAPACITY)
    return int(value)


def parse_link(value: str) -> str:
    """An http(s) link with a host, with no spaces and no invisible characters (a right-to-left
    override would make it look like another link); UserError otherwise."""
    parsed = urlparse(value)
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.netloc
        or any(c.isspace() for c in value)
        or invisible(value)
    ):
        raise UserError("fields.bad_link", value=value)
    return value


def parse_region(value: str) -> str:
    """'bielefeld' → 'Bielefeld'; 'beide' → 'Bielefeld, Paderborn'; UserError for anything else."""
    lowered = " ".join(value.lower().split())
    if lowered in BOTH_REGIONS:
        return "Bielefeld, Paderborn"
    if lowered not in REGIONS:
        raise UserError("fields.bad_region", value=value)
    return REGIONS[lowered]


def _text(field: str, value: str) -> str | None:
    if len(value) > MAX_LENGTH[field]:
        raise UserError("fields.too_long", field=field, maximum=MAX_LENGTH[field])
    return " ".join(value.split()) if field != "description" else value.strip() or None


def parse_values(entries: list[tuple[str, str]], now: datetime, tz: ZoneInfo, duration: timedelta) -> dict[str, Any]:
    """Checked attribute values; `when` becomes starts_at and ends_at (end = start + duration if none)."""
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for field, typed in entries:
        value = clean(typed).strip()  # no bidirectional or zero-width tricks in what is shown again
        if field in seen:
            raise UserError("fields.twice", field=field)
        seen.add(field)
        if not value and field in ("title", "when"):
            raise UserError("fields.empty", field=field)
        if field == "when":
            when = parse_when(value, now, tz)
            values["starts_at"], values["ends_at"] = when.start, when.end or when.start + duration
        elif field == "capacity":
            values[field] = _capacity(value)
        elif field == "link":
            values[field] = parse_link(value) if value else None
        elif field == "registration_deadline":
            values[field] = parse_when(value, now, tz).start if value else None
        elif field == "region":
            values[field] = parse_region(value) if value else None
        elif field == "room_id":
            if not ROOM_ID.match(value):
                raise UserError("fields.bad_room", value=value)
            values[field] = value
        else:
            values[field] = _text(field, value) if value else None
    return values


def check_deadline(deadline: datetime | None, starts_at: datetime) -> None:
    if deadline is not None and deadline > starts_at:
        raise UserError("fields.deadline_after_start")


def parse_new(
    args: str, now: datetime, tz: ZoneInfo, default_capacity: int | None, duration: timedelta
) -> dict[str, Any]:
    """The values of `!termin neu`, in either form; title and date are required."""
    text = args.strip()
    if not text:
        raise UserError("sessions.new_usage")
    if "\n" in text:
        entries = split_fields(text)
    else:
        parts = [p.strip() for p in text.split("|")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise UserError("sessions.new_usage")
        entries = [("title", parts[0]), ("when", parts[1]), *split_fields("|".join(parts[2:]))]
    values = parse_values(entries, now, tz, duration)
    if "title" not in values or "starts_at" not in values:
        raise UserError("sessions.new_usage")
    values.setdefault("capacity", default_capacity)
    check_deadline(values.get("registration_deadline"), values["starts_at"])
    return values
