"""The participant list of a session as CSV (pure), for a coordinator's spreadsheet.

Semicolon-separated with a byte-order mark, as German spreadsheet programs expect; cells that a
spreadsheet would run as a formula (=, +, -, @ …) are quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

HEADER = ("Name", "Matrix-ID", "Kommune", "Status", "Wartelistenplatz", "Angemeldet am")
STATUS_DE = {"registered": "angemeldet", "waitlisted": "Warteliste", "cancelled": "abgemeldet"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Participant:
    name: str
    user_id: str
    municipality: str | None
    status: str
    position: int | None
    registered_at: datetime


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def participants_csv(rows: list[Participant], tz: ZoneInfo) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                _cell(row.name),
                _cell(row.user_id),
                _cell(row.municipality or ""),
                STATUS_DE.get(row.status, row.status),
                row.position or "",
                row.registered_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def filename(session_id: int) -> str:
    return f"teilnehmende-termin-{session_id}.csv"
