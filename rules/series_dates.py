"""The dates of a series as coordinators type them (pure), built on `rules.dates`.

Two forms, both with one time of day (or range) for every part:

- a list: `Do 14.11., 21.11., 28.11., 5.12.2024 14–16 Uhr` (a weekday in front holds for all;
  a year given later holds for the dates before it, across the end of a year too);
- a rule: `donnerstags 14–16 Uhr vom 14.11. bis 5.12.`, also `jeden Donnerstag`, `alle 2 Wochen`,
  `14-tägig`, and `4 Termine` / `4x` instead of an end.

Anything else is one date as `rules.dates.parse_when` understands it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.dates import (
    MONTH_NAMES,
    MONTHS,
    NAMED_DATE,
    NUMERIC_DATE,
    WEEKDAY_NAMES,
    WEEKDAYS,
    DateError,
    When,
    checked_date,
    localise,
    normalise,
    parse_when,
    split_times,
    year_for,
)
from rules.errors import UserError

SERIES_EXAMPLE = "Do 14.11., 21.11., 28.11., 5.12. 14–16 Uhr"
RULE_EXAMPLE = "donnerstags 14–16 Uhr vom 14.11. bis 5.12."
TIME_EXAMPLE = "15–17 Uhr"
MAX_PARTS = 30
MAX_WEEKS = 104  # a rule reaches at most two years ahead

_ADVERBS = {
    "montags": 0,
    "mondays": 0,
    "dienstags": 1,
    "tuesdays": 1,
    "mittwochs": 2,
    "wednesdays": 2,
    "donnerstags": 3,
    "thursdays": 3,
    "freitags": 4,
    "fridays": 4,
    "samstags": 5,
    "sonnabends": 5,
    "saturdays": 5,
    "sonntags": 6,
    "sundays": 6,
}
_NUMBER_WORDS = {"zwei": 2, "two": 2, "drei": 3, "three": 3, "vier": 4, "four": 4}
_DATE = (
    r"(?:\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})?|\d{1,2}\.\d{1,2}(?![\d.])"
    rf"|\d{{1,2}}\.?\s*(?:{MONTH_NAMES})\.?(?:\s*\d{{4}})?)"
)
_RULE_DAY = re.compile(rf"\b(?:jeden|jede|every)\s+({WEEKDAY_NAMES})\b\.?|\b({'|'.join(_ADVERBS)})\b")
_INTERVAL = re.compile(
    rf"\b(?:alle|every)\s+(\d|{'|'.join(_NUMBER_WORDS)})\s+(?:wochen|weeks)\b"
    r"|\b(?:14|vierzehn)[- ]?t[äa]gig\b|\b(?:zweiwöchentlich|biweekly)\b|\b(?:wöchentlich|weekly)\b"
)
_FROM = re.compile(rf"\b(?:vom|von|ab|from|starting)\s+(?:dem\s+|the\s+)?({_DATE})")
_UNTIL = re.compile(rf"\b(?:bis|until|to|through)\s+(?:zum\s+|einschließlich\s+|the\s+)?({_DATE})")
_COUNT = re.compile(r"\b(\d{1,2})\s*(?:x|mal|termine|teile|times|sessions|parts)\b")
_LEADING_WEEKDAY = re.compile(rf"^(?:am\s+|on\s+)?({WEEKDAY_NAMES})\b\.?,?\s*")
_SEPARATORS = re.compile(r"\s*(?:[,;&+/]|\bund\b|\band\b)\s*")
_FILLER = re.compile(r"\b(?:am|um|den|dem|von|on|at|the|from)\b")


class SeriesDateError(DateError):
    """The dates of a series are not usable; the message shows a form that works."""

    def __init__(self, key: str, **params: Any) -> None:
        params.setdefault("example", SERIES_EXAMPLE)
        UserError.__init__(self, key, **params)


# A date as typed: day, month, year if given, weekday if given.
Typed = tuple[int, int, int | None, str | None]


def _typed(text: str) -> Typed | None:
    item = " ".join(_FILLER.sub(" ", text).split()).strip(" -")
    if match := NUMERIC_DATE.match(item):
        weekday, day, month, year = match.groups()
        full = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
        return int(day), int(month), full, weekday
    if match := NAMED_DATE.match(item):
        weekday, day, month_name, year = match.groups()
        return int(day), MONTHS[month_name], int(year) if year else None, weekday
    return None


def _resolve_years(typed: list[Typed], today: date) -> list[date]:
    """Calendar dates in order: a date without a year takes it from the next one that has one
    (the year before, if the date would otherwise come after it), or else follows the date before."""
    days: list[date | None] = [None] * len(typed)
    following: date | None = None
    for i in range(len(typed) - 1, -1, -1):
        day, month, year, weekday = typed[i]
        if year is not None:
            following = days[i] = checked_date(year, month, day, weekday)
        elif following is not None:
            same_year = _exists(following.year, month, day) and date(following.year, month, day) < following
            year_of = following.year if same_year else following.year - 1
            following = days[i] = checked_date(year_of, month, day, weekday)
    previous: date | None = None
    for i, (day, month, _, weekday) in enumerate(typed):
        if days[i] is None:
            if previous is not None and (month, day) == (previous.month, previous.day):
                raise SeriesDateError("series_dates.twice", date=previous.strftime("%d.%m.%Y"))
            year_of = year_for(day, month, today if previous is None else previous + timedelta(days=1))
            days[i] = checked_date(year_of, month, day, weekday)
        current = days[i]
        assert current is not None
        if previous is not None and current <= previous:
            key = "series_dates.twice" if current == previous else "series_dates.order"
            raise SeriesDateError(key, date=current.strftime("%d.%m.%Y"))
        previous = current
    return [d for d in days if d is not None]


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _listed(rest: str, today: date) -> list[date] | None:
    """The dates of a list, or None when `rest` is not a list of plain dates."""
    weekday = None
    if match := _LEADING_WEEKDAY.match(rest):
        weekday, rest = match.group(1), rest[match.end() :]
    items = [item for item in _SEPARATORS.split(rest.strip(" ,;")) if item.strip(" .")]
    typed = [_typed(item) for item in items]
    if not typed or any(t is None for t in typed):
        return None
    days = _resolve_years([t for t in typed if t is not None], today)
    if weekday is not None:
        for day in days:
            if day.weekday() != WEEKDAYS[weekday]:
                raise SeriesDateError("dates.weekday_mismatch", date=day.strftime("%d.%m.%Y"))
    return days


def _interval(rest: str) -> int:
    """Weeks between two parts: 1 unless the text says `alle 2 Wochen`, `14-tägig` or the like."""
    match = _INTERVAL.search(rest)
    if match is None or match.group(0) in ("wöchentlich", "weekly"):
        return 1
    if match.group(1):
        word = match.group(1)
        return int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return 2


def _one_date(text: str, today: date, after: date | None = None) -> date:
    typed = _typed(text)
    if typed is None:
        raise SeriesDateError("dates.invalid_date", date=text.strip())
    day, month, year, weekday = typed
    if year is None:
        year = year_for(day, month, after or today)
    return checked_date(year, month, day, weekday)


def _ruled(rest: str, today: date, first_time: tuple[int, int], local_now: datetime) -> list[date] | None:
    """The dates of a rule (`donnerstags … vom … bis …`), or None when `rest` states none."""
    rule = _RULE_DAY.search(rest)
    if rule is None:
        return None
    weekday = WEEKDAYS[rule.group(1)] if rule.group(1) else _ADVERBS[rule.group(2)]
    step = _interval(rest)
    start_match, until_match, count_match = _FROM.search(rest), _UNTIL.search(rest), _COUNT.search(rest)
    if start_match:
        start = _one_date(start_match.group(1), today)
    else:
        start = today + timedelta(days=1) if (local_now.hour, local_now.minute) >= first_time else today
    first = start + timedelta(days=(weekday - start.weekday()) % 7)
    if until_match:
        until = _one_date(until_match.group(1), today, after=start)
        if until < first:
            raise SeriesDateError("series_dates.until_before_start", example=RULE_EXAMPLE)
        count = (until - first).days // (7 * step) + 1
    elif count_match:
        count = int(count_match.group(1))
    else:
        raise SeriesDateError("series_dates.rule_open", example=RULE_EXAMPLE)
    if count > MAX_PARTS or count * step > MAX_WEEKS:
        raise SeriesDateError("series_dates.too_many", maximum=MAX_PARTS)
    return [first + timedelta(weeks=step * n) for n in range(count)]


def parse_dates(text: str, now: datetime, tz: ZoneInfo) -> list[When]:
    """Every date of a series in `tz`, in order; one date if the text names one (see `parse_when`)."""
    cleaned = normalise(text)
    if not cleaned:
        raise SeriesDateError("dates.empty")
    local_now = now.astimezone(tz)
    parts = split_times(cleaned)
    rest = parts.rest.strip()
    if not parts.times:
        if _RULE_DAY.search(rest) or len(_SEPARATORS.split(rest)) > 1:
            raise SeriesDateError("dates.no_time")
        return [parse_when(text, now, tz)]
    days = _ruled(rest, local_now.date(), parts.times[0], local_now) or _listed(rest, local_now.date())
    if days is None:
        return [parse_when(text, now, tz)]
    if len(days) > MAX_PARTS:
        raise SeriesDateError("series_dates.too_many", maximum=MAX_PARTS)
    result = []
    for day in days:
        start = localise(day, parts.times[0], tz)
        end = localise(day, parts.times[1], tz) if len(parts.times) > 1 else None
        if end is not None and end <= start:
            raise SeriesDateError("dates.end_before_start")
        if start <= now:
            raise SeriesDateError("series_dates.past", date=day.strftime("%d.%m.%Y"))
        result.append(When(start, end))
    return result


def parse_times(text: str) -> list[tuple[int, int]]:
    """A time of day or a range with no date (`15–17 Uhr`), for moving every part of a series."""
    cleaned = normalise(text)
    parts = split_times(cleaned)
    if not parts.times:
        raise SeriesDateError("dates.no_time", example=TIME_EXAMPLE)
    if _FILLER.sub(" ", parts.rest).strip(" ,-"):
        raise SeriesDateError("series_dates.time_only", example=TIME_EXAMPLE)
    return parts.times


def same_day(start: datetime, times: list[tuple[int, int]], tz: ZoneInfo, duration: timedelta) -> When:
    """The day of `start` at other times (the length kept when no end is given)."""
    day = start.astimezone(tz).date()
    new_start = localise(day, times[0], tz)
    end = localise(day, times[1], tz) if len(times) > 1 else new_start + duration
    if end <= new_start:
        raise SeriesDateError("dates.end_before_start", example=TIME_EXAMPLE)
    return When(new_start, end)
