"""What is coming up, as the web pages show it (pure): the sessions ahead by region and month with
their places, the series they belong to, open topic wishes with their votes and open board
entries. Shared by `/programm` (public), `/ich` and the room widget (with buttons).

Nothing about people: a board entry shows its kind, category, title, municipality and state,
never its author; a session its counts, never who registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rules.board import EntryView, entry_ref, kind_text, state_text
from rules.rendering.web_pages import REGION_ORDER, Site, region_label, render
from rules.series import series_ref
from rules.sessions import SessionSummary, SessionView
from rules.topics import topic_ref
from rules.voice import Voice

MONTHS = {
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


class UpcomingSession(SessionView, Protocol):
    """A session ahead, with the series it may belong to (the storage model has these fields)."""

    @property
    def series_id(self) -> int | None: ...


class WishView(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class SessionItem:
    """One session ahead: what it is, when, and how many places are left."""

    number: int
    title: str
    starts_at: datetime
    when: str
    talk: str | None
    speaker: str | None
    series: str | None  # "Reihe 2: Title" when it is a part of one
    places: str
    full: bool

    @property
    def path(self) -> str:
        return f"/termin/{self.number}"


@dataclass(frozen=True)
class MonthGroup:
    name: str
    sessions: tuple[SessionItem, ...]


@dataclass(frozen=True)
class RegionSessions:
    name: str
    months: tuple[MonthGroup, ...]


@dataclass(frozen=True)
class SeriesItem:
    number: int
    label: str  # "Reihe 2: Title"
    parts: int


@dataclass(frozen=True)
class WishItem:
    number: int
    ref: str
    title: str
    votes: str


@dataclass(frozen=True)
class EntryItem:
    number: int
    ref: str
    kind: str
    category: str
    title: str
    municipality: str
    state: str


@dataclass(frozen=True)
class Filters:
    """The programme's filters as asked for (`region` a region's name, `category` a board category)."""

    region: str | None = None
    category: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Programme:
    regions: tuple[RegionSessions, ...]
    series: tuple[SeriesItem, ...]
    wishes: tuple[WishItem, ...]
    entries: tuple[EntryItem, ...]
    filters: Filters
    categories: tuple[str, ...]
    region_choices: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.regions


def places(voice: Voice, capacity: int | None, registered: int, waiting: int) -> tuple[str, bool]:
    """The places left in words, and whether the session is full (then the waiting list's length)."""
    if capacity is None:
        return voice.t("web.places_unlimited").plain, False
    left = max(capacity - registered, 0)
    if left == 0:
        return voice.t("web.places_full", capacity=capacity, waiting=waiting).plain, True
    return voice.t("web.places_left", left=left, capacity=capacity).plain, False


def month_name(voice: Voice, moment: datetime) -> str:
    local = moment.astimezone(voice.timezone)
    names = MONTHS.get(voice.language, MONTHS["de"])
    return f"{names[local.month - 1]} {local.year}"


def series_label(number: int, title: str) -> str:
    return f"{series_ref(number)}: {title}"


def session_item(voice: Voice, summary: SessionSummary[Any], series_titles: Mapping[int, str]) -> SessionItem:
    session: UpcomingSession = summary.session
    if session.id is None:
        raise ValueError("the session has not been saved yet")
    text, full = places(voice, session.capacity, summary.registered, summary.waitlisted)
    in_series = session.series_id is not None and session.series_id in series_titles
    return SessionItem(
        number=session.id,
        title=session.title,
        starts_at=session.starts_at,
        when=voice.when(session.starts_at, session.ends_at),
        talk=session.talk,
        speaker=session.speaker,
        series=series_label(session.series_id, series_titles[session.series_id])
        if in_series and session.series_id is not None
        else None,
        places=text,
        full=full,
    )


def by_region_and_month(
    voice: Voice, summaries: Iterable[SessionSummary[Any]], series_titles: Mapping[int, str]
) -> tuple[RegionSessions, ...]:
    """Sessions ahead by region (Bielefeld, Paderborn, both, none), within a region by month,
    soonest first."""
    grouped: dict[str | None, dict[str, list[SessionItem]]] = {}
    for summary in sorted(summaries, key=lambda x: (x.session.starts_at, x.session.id or 0)):
        region = summary.session.region if summary.session.region in REGION_ORDER else None
        month = month_name(voice, summary.session.starts_at)
        grouped.setdefault(region, {}).setdefault(month, []).append(session_item(voice, summary, series_titles))
    return tuple(
        RegionSessions(
            region_label(voice, region),
            tuple(MonthGroup(month, tuple(items)) for month, items in grouped[region].items()),
        )
        for region in REGION_ORDER
        if region in grouped
    )


def wish_items(voice: Voice, wishes: Iterable[tuple[WishView, int]]) -> tuple[WishItem, ...]:
    """Open wishes with their votes, as listed."""
    return tuple(
        WishItem(wish.id or 0, topic_ref(wish.id), wish.title, voice.t("web.votes", count=votes).plain)
        for wish, votes in wishes
    )


def entry_items(voice: Voice, entries: Iterable[EntryView]) -> tuple[EntryItem, ...]:
    """Board entries as listed: kind, category, title, municipality, state (never the author)."""
    return tuple(
        EntryItem(
            number=entry.id or 0,
            ref=entry_ref(entry.id),
            kind=kind_text(voice, entry.kind).plain,
            category=entry.category,
            title=entry.title,
            municipality=entry.municipality or voice.t("board.no_municipality").plain,
            state=state_text(voice, entry.state).plain,
        )
        for entry in entries
    )


def programme(
    voice: Voice,
    summaries: Sequence[SessionSummary[Any]],
    series_titles: Mapping[int, str],
    wishes: Iterable[tuple[WishView, int]],
    entries: Iterable[EntryView],
    filters: Filters,
    categories: Sequence[str],
    regions: Sequence[str],
) -> Programme:
    """The programme page's content from what storage read (already filtered by `filters`)."""
    parts: dict[int, int] = {}
    for summary in summaries:
        if summary.session.series_id in series_titles:
            parts[summary.session.series_id] = parts.get(summary.session.series_id, 0) + 1
    return Programme(
        regions=by_region_and_month(voice, summaries, series_titles),
        series=tuple(SeriesItem(n, series_label(n, series_titles[n]), count) for n, count in sorted(parts.items())),
        wishes=wish_items(voice, wishes),
        entries=entry_items(voice, entries),
        filters=filters,
        categories=tuple(categories),
        region_choices=tuple(regions),
    )


def programme_page(voice: Voice, content: Programme, site: Site) -> str:
    """`/programm`: public, without buttons."""
    return render(voice, "programme.html", programme=content, site=site, csrf=None, back="")
