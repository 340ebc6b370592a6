"""Series as coordinators write them and as people read them (pure).

`!reihe neu Titel | Wann [| Feld: Wert …]`, where `Wann` names every date (see
`rules.series_dates`); lines below it may give each part its own title (`Teil 1: …`) or more
fields (`Plätze: 30`), which hold for every part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from rules.errors import UserError
from rules.i18n import Message
from rules.series_dates import parse_dates
from rules.session_fields import FIELDS, parse_values, split_fields
from rules.sessions import SessionView, ref
from rules.states import SessionStatus
from rules.voice import Voice

_PART = re.compile(r"^(?:teil|part)\s*(\d{1,2})\s*[:.)]\s*(.+)$", re.IGNORECASE)
MIN_PARTS = 2
# Fields that differ from part to part by nature: given for one part with `!termin ändern #N`.
PER_PART = ("registration_deadline",)

Item = TypeVar("Item")


def series_ref(number: int | None) -> str:
    """How a series is named to users: `Reihe N` (the command word, in every language)."""
    return f"Reihe {number}"


@dataclass(frozen=True)
class Part:
    """One part as planned: its own title if one was given, its start and end."""

    title: str | None
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class SeriesPlan:
    """What `!reihe neu` asks for: the series' title, its parts, and the fields every part gets."""

    title: str
    parts: list[Part]
    values: dict[str, Any]


def _entries(head: str, lines: list[str]) -> list[tuple[str, str]]:
    """The fields of the first line (`Titel | Wann | …` or `Feld: Wert`) and of the lines below it."""
    name = head.split("|")[0].partition(":")
    if name[1] and name[0].strip().lower() in FIELDS:
        return [entry for line in [head, *lines] for entry in split_fields(line)]
    pieces = [p.strip() for p in head.split("|")]
    if len(pieces) < 2 or not pieces[0] or not pieces[1]:
        raise UserError("series.new_usage")
    rest = split_fields("|".join(pieces[2:])) + [entry for line in lines for entry in split_fields(line)]
    return [("title", pieces[0]), ("when", pieces[1]), *rest]


def _titles(numbered: list[tuple[int, str]], count: int) -> list[str | None]:
    """The parts' own titles in order; all or none, each part once."""
    if not numbered:
        return [None] * count
    if sorted(n for n, _ in numbered) != list(range(1, count + 1)):
        raise UserError("series.titles_mismatch", parts=count, titles=len(numbered))
    return [title for _, title in sorted(numbered)]


def parse_series(
    args: str, now: datetime, tz: ZoneInfo, default_capacity: int | None, duration: timedelta
) -> SeriesPlan:
    """The series `!reihe neu` describes; UserError with a hint for anything unusable."""
    lines = [line.strip() for line in args.strip().split("\n") if line.strip()]
    if not lines:
        raise UserError("series.new_usage")
    numbered: list[tuple[int, str]] = []
    others: list[str] = []
    for line in lines[1:]:
        if match := _PART.match(line):
            numbered.append((int(match.group(1)), match.group(2)))
        else:
            others.append(line)
    entries = _entries(lines[0], others)
    when = [value for field, value in entries if field == "when"]
    shared = [(field, value) for field, value in entries if field != "when"]
    values = parse_values(shared, now, tz, duration)
    if "title" not in values or len(when) != 1:
        raise UserError("series.new_usage")
    for field in PER_PART:
        if field in values:
            raise UserError("series.per_part")
    dates = parse_dates(when[0], now, tz)
    if len(dates) < MIN_PARTS:
        raise UserError("series.too_few")
    titles = _titles(numbered, len(dates))
    parts = [
        Part(
            parse_values([("title", title)], now, tz, duration)["title"] if title else None,
            date.start,
            date.end or date.start + duration,
        )
        for title, date in zip(titles, dates, strict=True)
    ]
    values.setdefault("capacity", default_capacity)
    return SeriesPlan(values.pop("title"), parts, values)


def group_by_series(
    items: Sequence[Item], series_of: Callable[[Item], int | None]
) -> list[tuple[int | None, list[Item]]]:
    """Items in order, those of one series gathered where its first one stands."""
    groups: list[tuple[int | None, list[Item]]] = []
    where: dict[int, list[Item]] = {}
    for item in items:
        number = series_of(item)
        if number is None:
            groups.append((None, [item]))
        elif number in where:
            where[number].append(item)
        else:
            where[number] = [item]
            groups.append((number, where[number]))
    return groups


def grouped_lines(
    voice: Voice,
    items: Sequence[Item],
    series_of: Callable[[Item], int | None],
    titles: dict[int, str],
    line: Callable[[Item], Message],
) -> list[Message]:
    """A list's lines, the parts of a series together under the series' title."""
    lines: list[Message] = []
    for number, members in group_by_series(items, series_of):
        if number is None:
            lines.extend(line(member) for member in members)
            continue
        head = voice.t("series.group_head", ref=series_ref(number), title=titles.get(number, ""), count=len(members))
        lines.extend([head, *(voice.t("series.group_part", line=line(member)) for member in members)])
    return lines


def part_lines(voice: Voice, parts: Sequence[SessionView], shown: Sequence[SessionView] | None = None) -> list[Message]:
    """Each part (or each of `shown`) with its place in the series, its number, its full date and
    its title: how a series is read back."""
    wanted = None if shown is None else {part.id for part in shown}
    return [
        voice.t(
            "series.part_cancelled" if part.status == SessionStatus.CANCELLED else "series.part",
            part=index,
            ref=ref(part.id),
            when=voice.when(part.starts_at, part.ends_at),
            title=part.title,
        )
        for index, part in enumerate(parts, start=1)
        if wanted is None or part.id in wanted
    ]


def series_announcement(voice: Voice, number: int, title: str, parts: Sequence[SessionView]) -> Message:
    """The series' own post: every part, and how to register for all of them at once."""
    return Message.join(
        [
            voice.t("series.announcement_head", ref=series_ref(number), title=title, count=len(parts)),
            *part_lines(voice, parts),
            voice.t("series.announcement_howto", ref=series_ref(number)),
        ]
    )
