"""The public web pages (pure): what `/archiv` and `/termin/<N>` show, and their HTML.

Only what the series publishes anyway appears here: title, date, talk, speaker, description,
region, join link, protocol and material. Nothing about people (no participant, no question,
no one who created or changed anything). The HTML comes from the Jinja2 templates beside this
module, escaped automatically, with the texts from the catalogues.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rules.feedback import Totals, totals_line
from rules.session_fields import REGIONS
from rules.sessions import SessionView
from rules.states import SessionStatus
from rules.voice import Voice

BOTH = ", ".join(REGIONS.values())  # how a session for both regions names its region
REGION_ORDER = (*REGIONS.values(), BOTH, None)


class PublishedSession(SessionView, Protocol):
    """A session with what is published after it (the storage model has these fields)."""

    @property
    def protocol_url(self) -> str | None: ...


class MaterialView(Protocol):
    @property
    def session_id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str | None: ...


@dataclass(frozen=True)
class MaterialLink:
    url: str
    label: str


@dataclass(frozen=True)
class SessionCard:
    """What a page shows of one session."""

    number: int
    title: str
    starts_at: datetime
    when: str
    region: str
    talk: str | None
    speaker: str | None
    description: str | None
    link: str | None
    cancelled: bool
    protocol_url: str | None
    materials: tuple[MaterialLink, ...]
    # The session's feedback totals in words (average rating, number of answers), shown once
    # feedback is collected; None: nothing to show (none collected, or too few answers to show).
    feedback: str | None = None

    @property
    def path(self) -> str:
        return f"/termin/{self.number}"


@dataclass(frozen=True)
class RegionGroup:
    name: str
    sessions: tuple[SessionCard, ...]


@dataclass(frozen=True)
class YearGroup:
    year: int
    regions: tuple[RegionGroup, ...]


@dataclass(frozen=True)
class FeedLink:
    label: str
    url: str


@dataclass(frozen=True)
class Site:
    """What every page links to: its own pages below `root` (the path of the public address, ""
    when the pages are reached at the top of their host) and the calendar feeds."""

    root: str
    feeds: Sequence[FeedLink]


def site_of(voice: Voice, root: str, url: Callable[[str], str]) -> Site:
    """What every page links to: the pages below `root`, and the feeds at their public `url`."""
    feeds = [
        FeedLink(voice.t("web.feed_all").plain, url("/kalender.ics")),
        *(
            FeedLink(voice.t("web.feed_region", region=name).plain, url(f"/kalender/{slug}.ics"))
            for slug, name in REGIONS.items()
        ),
    ]
    return Site(root, feeds)


def region_label(voice: Voice, region: str | None) -> str:
    if region is None:
        return voice.t("web.region_none").plain
    if region == BOTH:
        return voice.t("web.region_both").plain
    return region


def session_card(
    voice: Voice, session: PublishedSession, materials: Iterable[MaterialView], totals: Totals | None = None
) -> SessionCard:
    """What a page shows of one session; `totals`: its feedback, when there are enough answers."""
    if session.id is None:
        raise ValueError("the session has not been saved yet")
    return SessionCard(
        number=session.id,
        title=session.title,
        starts_at=session.starts_at,
        when=voice.when(session.starts_at, session.ends_at),
        region=region_label(voice, session.region),
        talk=session.talk,
        speaker=session.speaker,
        description=session.description,
        link=session.link,
        cancelled=session.status == SessionStatus.CANCELLED,
        protocol_url=session.protocol_url,
        materials=tuple(
            MaterialLink(m.url, m.title or voice.t("web.material_untitled").plain)
            for m in materials
            if m.session_id == session.id
        ),
        feedback=totals_line(voice, totals).plain if totals else None,
    )


def archive_years(
    voice: Voice,
    sessions: Iterable[PublishedSession],
    materials: Sequence[MaterialView],
    totals: Mapping[int, Totals] | None = None,
) -> list[YearGroup]:
    """Past sessions by year (latest first), within a year by region (Bielefeld, Paderborn, both,
    none), each region's sessions latest first."""
    by_year: dict[int, dict[str | None, list[PublishedSession]]] = {}
    for session in sorted(sessions, key=lambda x: x.starts_at, reverse=True):
        year = session.starts_at.astimezone(voice.timezone).year
        region = session.region if session.region in REGION_ORDER else None
        by_year.setdefault(year, {}).setdefault(region, []).append(session)
    return [
        YearGroup(
            year,
            tuple(
                RegionGroup(
                    region_label(voice, region),
                    tuple(session_card(voice, x, materials, (totals or {}).get(x.id or 0)) for x in regions[region]),
                )
                for region in REGION_ORDER
                if region in regions
            ),
        )
        for year, regions in sorted(by_year.items(), reverse=True)
    ]


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )


def render(voice: Voice, template: str, **context: Any) -> str:
    """A page: `template` with `context`, the catalogue texts at hand as `t(key, …)`."""
    return (
        _environment()
        .get_template(template)
        .render(t=lambda key, **params: voice.t(key, **params).plain, language=voice.language, **context)
    )


def archive_page(voice: Voice, years: Sequence[YearGroup], site: Site) -> str:
    return render(voice, "archive.html", years=years, site=site)


def session_page(voice: Voice, card: SessionCard, site: Site) -> str:
    return render(voice, "session.html", session=card, site=site)


def not_found_page(voice: Voice, site: Site) -> str:
    return render(voice, "not_found.html", site=site)
