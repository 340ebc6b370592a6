"""A signed-in person's pages (pure): `/ich` with their registrations and a button on every
session ahead, the room widget, and the short pages that say how signing in went."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rules.board import EntryView
from rules.rendering.coordination_page import Coordinated, RoomChoice
from rules.rendering.programme_page import (
    EntryItem,
    Filters,
    Programme,
    WishItem,
    WishView,
    entry_items,
    programme,
    wish_items,
)
from rules.rendering.web_pages import Site, render
from rules.session_fields import REGIONS
from rules.sessions import SessionSummary, SessionView
from rules.states import RegistrationStatus
from rules.voice import Voice


class HeldView(Protocol):
    """A person's registration as storage reads it (`storage.registrations.MyRegistration`)."""

    @property
    def session(self) -> SessionView: ...
    @property
    def status(self) -> str: ...
    @property
    def position(self) -> int | None: ...


@dataclass(frozen=True)
class HeldItem:
    """One session the person holds a place or a waiting position for."""

    number: int
    title: str
    date: str
    state: str


@dataclass(frozen=True)
class Me:
    user_id: str
    held: tuple[HeldItem, ...]
    coordinated: tuple[Coordinated, ...] | None = None  # None: the person coordinates no room

    @property
    def states(self) -> dict[int, str]:
        """What the person holds, by session number (the programme shows it beside the session)."""
        return {item.number: item.state for item in self.held}


@dataclass(frozen=True)
class Rateable:
    """A past session the person held a place in, to rate."""

    number: int
    title: str
    date: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class Form:
    """What the forms of a page carry: the session's CSRF token, and where to come back to."""

    csrf: str
    back: str


def held_state(voice: Voice, status: str, position: int | None) -> str:
    if status == RegistrationStatus.REGISTERED:
        return voice.t("web.held_place").plain
    return voice.t("web.held_waiting", position=position or "?").plain


class PersonalData(Protocol):
    """What storage read for a person's page (`storage.programme.PersonalRows`)."""

    @property
    def summaries(self) -> Sequence[SessionSummary[Any]]: ...
    @property
    def series_titles(self) -> Mapping[int, str]: ...
    @property
    def held(self) -> Sequence[HeldView]: ...
    @property
    def wishes(self) -> Sequence[tuple[WishView, int]]: ...
    @property
    def municipality(self) -> str | None: ...
    @property
    def rateable(self) -> Sequence[SessionView]: ...
    @property
    def entries(self) -> Sequence[EntryView]: ...
    @property
    def own_entries(self) -> Sequence[EntryView]: ...


@dataclass(frozen=True)
class PersonalView:
    """A person's page: what they hold, the sessions ahead (with a button each), the open wishes
    (with one to vote), their municipality, the rooms a wish may be proposed in; the sessions they
    coordinate, if any."""

    person: Me
    programme: Programme
    wishes: tuple[WishItem, ...] = ()
    municipality: str | None = None
    wish_rooms: tuple[RoomChoice, ...] = ()
    rateable: tuple[Rateable, ...] = ()
    entries: tuple[EntryItem, ...] = ()
    own_entries: tuple[EntryItem, ...] = ()
    categories: tuple[str, ...] = ()


def personal_view(
    voice: Voice,
    user_id: str,
    rows: PersonalData,
    coordinated: tuple[Coordinated, ...] | None = None,
    wish_rooms: tuple[RoomChoice, ...] = (),
    categories: Sequence[str] = (),
) -> PersonalView:
    held = tuple(
        HeldItem(
            r.session.id or 0,
            r.session.title,
            voice.short(r.session.starts_at),
            held_state(voice, r.status, r.position),
        )
        for r in rows.held
    )
    regions = tuple(REGIONS.values())
    sessions = programme(voice, rows.summaries, rows.series_titles, [], [], Filters(), (), regions)
    rateable = tuple(Rateable(x.id or 0, x.title, voice.short(x.starts_at)) for x in rows.rateable)
    return PersonalView(
        Me(user_id, held, coordinated),
        sessions,
        wish_items(voice, rows.wishes),
        rows.municipality,
        wish_rooms,
        rateable,
        entry_items(voice, rows.entries),
        entry_items(voice, rows.own_entries),
        tuple(categories),
    )


def me_page(voice: Voice, view: PersonalView, site: Site, form: Form, note: str | None) -> str:
    return render(
        voice,
        "me.html",
        me=view.person,
        view=view,
        programme=view.programme,
        site=site,
        csrf=form.csrf,
        back=form.back,
        note=note,
    )


def message_page(
    voice: Voice,
    site: Site,
    title_key: str,
    paragraphs: Sequence[str] = (),
    link: Link | None = None,
    refresh: str | None = None,
) -> str:
    """A short page that says one thing (signed in, link expired, form refused …)."""
    return render(
        voice,
        "message.html",
        site=site,
        title=voice.t(title_key).plain,
        paragraphs=list(paragraphs),
        link=link,
        refresh=refresh,
    )


@dataclass(frozen=True)
class WidgetState:
    """The widget page: signed in (`view` and `form`), or about to ask its host for an OpenID
    token (`script`: the script's address), or signed in but refused a cookie (`blocked`)."""

    view: PersonalView | None = None
    form: Form | None = None
    note: str | None = None
    script: str | None = None
    hosts: tuple[str, ...] = ()


def widget_page(voice: Voice, site: Site, state: WidgetState) -> str:
    return render(
        voice,
        "widget.html",
        site=site,
        state=state,
        framed=True,
        note=state.note,
        csrf=state.form.csrf if state.form else None,
        back=state.form.back if state.form else "",
    )
