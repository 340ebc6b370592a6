"""Dates as coordinators type them ("Do 10.12. 14–15 Uhr") and dates as the bot writes them.

`parse_when` is pure: it takes `now` and the zone. A German normalisation layer finds the time
of day (and a range) and the common German date forms itself; whatever is left that it does not
know (relative English or German phrases) goes to dateparser, which is good at those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.errors import UserError
from rules.i18n import entry

EXAMPLE = "Do 10.12. 14–15 Uhr"

WEEKDAYS = {
    "montag": 0,
    "mo": 0,
    "monday": 0,
    "mon": 0,
    "dienstag": 1,
    "di": 1,
    "tuesday": 1,
    "tue": 1,
    "mittwoch": 2,
    "mi": 2,
    "wednesday": 2,
    "wed": 2,
    "donnerstag": 3,
    "do": 3,
    "thursday": 3,
    "thu": 3,
    "freitag": 4,
    "fr": 4,
    "friday": 4,
    "fri": 4,
    "samstag": 5,
    "sa": 5,
    "sonnabend": 5,
    "saturday": 5,
    "sat": 5,
    "sonntag": 6,
    "so": 6,
    "sunday": 6,
    "sun": 6,
}
MONTHS = {
    "januar": 1,
    "jan": 1,
    "jänner": 1,
    "january": 1,
    "februar": 2,
    "feb": 2,
    "february": 2,
    "märz": 3,
    "maerz": 3,
    "mär": 3,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "may": 5,
    "juni": 6,
    "jun": 6,
    "june": 6,
    "juli": 7,
    "jul": 7,
    "july": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "dezember": 12,
    "dez": 12,
    "december": 12,
    "dec": 12,
}
RELATIVE_DAYS = {
    "heute": 0,
    "today": 0,
    "morgen": 1,
    "tomorrow": 1,
    "übermorgen": 2,
    "gestern": -1,
    "yesterday": -1,
    "vorgestern": -2,
}
NEXT_WORDS = ("nächsten", "nächster", "nächste", "kommenden", "kommender", "kommende", "next")
FILLER = re.compile(r"\b(?:um|am|den|ab|von|at|on|the|uhr)\b|[,;]")

WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_HM = r"(?<![\d.:])(\d{1,2})(?:[:.](\d{2}))?"
_RANGE = re.compile(rf"{_HM}\s*(?:uhr\s*)?(?:-|bis|to)\s*{_HM}\s*(uhr|h\b)?(?![\d.:])")
_TIMES = (
    re.compile(r"(?<![\d.:])(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b"),  # 2pm, 10:30 am
    re.compile(rf"{_HM}\s*(?:uhr|h\b)"),  # 14 Uhr, 14.00 Uhr, 9:30 h
    re.compile(r"(?<![\d.:])(\d{1,2}):(\d{2})(?![\d:])"),  # 9:30
    re.compile(r"\b(?:um|at)\s+(\d{1,2})()(?![\d.:])"),  # um 14
)
NUMERIC_DATE = re.compile(rf"^(?:({WEEKDAY_NAMES})\.?\s*)?(\d{{1,2}})\.(\d{{1,2}})(?:\.(\d{{4}}|\d{{2}})?)?$")
NAMED_DATE = re.compile(rf"^(?:({WEEKDAY_NAMES})\.?\s*)?(\d{{1,2}})\.?\s*({MONTH_NAMES})\.?\s*(\d{{4}})?$")
_WEEKDAY = re.compile(rf"^(?:({'|'.join(NEXT_WORDS)})\s+)?({WEEKDAY_NAMES})\.?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[t ]\d{1,2}:\d{2}")


class DateError(UserError):
    """The text is not a usable date; the message explains why and shows an example that works."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, example=EXAMPLE, **params)


@dataclass(frozen=True)
class When:
    """A start and, if the text gave one, an end; both aware, in the given zone."""

    start: datetime
    end: datetime | None = None

    def iso(self) -> str:
        return self.start.isoformat() if self.end is None else f"{self.start.isoformat()}/{self.end.isoformat()}"


@dataclass
class TimeParts:
    times: list[tuple[int, int]] = field(default_factory=list)
    rest: str = ""


def _hour_minute(hour: str, minute: str | None, meridiem: str | None = None) -> tuple[int, int]:
    h, m = int(hour), int(minute or 0)
    if meridiem:
        if not 1 <= h <= 12:
            raise DateError("dates.invalid_time")
        h = h % 12 + (12 if meridiem == "pm" else 0)
    if h > 23 or m > 59:
        raise DateError("dates.invalid_time")
    return h, m


def split_times(text: str) -> TimeParts:
    """Find the time of day (or a range) and return what is left as the date part."""
    match = _RANGE.search(text)
    if match and (match.group(5) or match.group(2) or match.group(4)):
        start = _hour_minute(match.group(1), match.group(2))
        end = _hour_minute(match.group(3), match.group(4))
        return TimeParts([start, end], text[: match.start()] + " " + text[match.end() :])
    found: list[tuple[int, int]] = []
    for pattern in _TIMES:
        while match := pattern.search(text):
            groups = match.groups()
            found.append(_hour_minute(groups[0], groups[1], groups[2] if len(groups) > 2 else None))
            text = text[: match.start()] + " " + text[match.end() :]
    if len(set(found)) > 1:
        raise DateError("dates.ambiguous")
    return TimeParts(found[:1], text)


def year_for(day: int, month: int, today: date) -> int:
    """The year in which day.month is next reached (today counts)."""
    for year in (today.year, today.year + 1):
        try:
            if date(year, month, day) >= today:
                return year
        except ValueError:
            continue
    return today.year


def checked_date(year: int, month: int, day: int, weekday: str | None) -> date:
    try:
        result = date(year, month, day)
    except ValueError:
        raise DateError("dates.invalid_date", date=f"{day}.{month}.{year}") from None
    if weekday and WEEKDAYS[weekday] != result.weekday():
        raise DateError("dates.weekday_mismatch", date=result.strftime("%d.%m.%Y"))
    return result


def _date_part(rest: str, today: date, earliest_time: time | None, base: datetime) -> date:
    rest = re.sub(r"\s+", " ", FILLER.sub(" ", rest)).strip(" -")
    if not rest:
        raise DateError("dates.no_date")
    if match := NUMERIC_DATE.match(rest):
        weekday, day, month, year = match.groups()
        if year is None:
            full_year = year_for(int(day), int(month), today)
        else:
            full_year = int(year) + (2000 if len(year) == 2 else 0)
        return checked_date(full_year, int(month), int(day), weekday)
    if match := NAMED_DATE.match(rest):
        weekday, day, month_name, year = match.groups()
        month = MONTHS[month_name]
        full_year = int(year) if year else year_for(int(day), month, today)
        return checked_date(full_year, month, int(day), weekday)
    if rest in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[rest])
    if match := _WEEKDAY.match(rest):
        ahead = (WEEKDAYS[match.group(2)] - today.weekday()) % 7
        if ahead == 0 and (match.group(1) or earliest_time is None or earliest_time <= base.time()):
            ahead = 7
        return today + timedelta(days=ahead)
    import dateparser  # only here: most dates never need it, and it is large

    parsed: datetime | None = dateparser.parse(
        rest,
        languages=["de", "en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False},
    )
    if parsed is None:
        raise DateError("dates.unknown")
    return parsed.date()


def localise(day: date, hm: tuple[int, int], tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(*hm), tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise DateError("dates.dst_gap", time=f"{hm[0]:02d}:{hm[1]:02d}")
    return local


def normalise(text: str) -> str:
    """Lower case, single spaces, dashes as hyphens: the form the patterns here are written for."""
    return re.sub(r"\s+", " ", text.strip().lower().replace("–", "-").replace("—", "-"))


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> When:
    """Turn a German or English date expression into a When in `tz`; DateError if unusable."""
    cleaned = normalise(text)
    if not cleaned:
        raise DateError("dates.empty")
    local_now = now.astimezone(tz)
    if _ISO.match(cleaned):
        try:
            parsed = datetime.fromisoformat(cleaned.upper())
        except ValueError:
            raise DateError("dates.invalid_date", date=text.strip()) from None
        start = parsed.astimezone(tz) if parsed.tzinfo else localise(parsed.date(), (parsed.hour, parsed.minute), tz)
        when = When(start)
    else:
        parts = split_times(cleaned)
        first = time(*parts.times[0]) if parts.times else None
        day = _date_part(parts.rest, local_now.date(), first, local_now.replace(tzinfo=None))
        if not parts.times:
            raise DateError("dates.no_time")
        start = localise(day, parts.times[0], tz)
        end = localise(day, parts.times[1], tz) if len(parts.times) > 1 else None
        if end is not None and end <= start:
            raise DateError("dates.end_before_start")
        when = When(start, end)
    if when.start <= now:
        raise DateError("dates.past")
    return when


def format_when(start: datetime, end: datetime | None, tz: ZoneInfo, language: str) -> str:
    """'Donnerstag, 10. Dezember 2026, 14:00–15:00 Uhr' (or the English equivalent)."""
    local = start.astimezone(tz)
    times = f"{local:%H:%M}" if end is None else f"{local:%H:%M}–{end.astimezone(tz):%H:%M}"
    return str(entry("dates.long", language)).format(
        weekday=entry("dates.weekdays", language)[local.weekday()],
        day=local.day,
        month=entry("dates.months", language)[local.month - 1],
        year=local.year,
        times=times,
    )


def format_short(start: datetime, tz: ZoneInfo, language: str) -> str:
    """'Do 10.12.2026, 14:00 Uhr' for lists."""
    local = start.astimezone(tz)
    return str(entry("dates.short", language)).format(
        weekday=entry("dates.weekdays_short", language)[local.weekday()],
        date=f"{local:%d.%m.%Y}",
        time=f"{local:%H:%M}",
    )
