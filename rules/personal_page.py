"""A signed-in person's pages (pure): `/ich` with their registrations and a button on every
session ahead, the room widget, and the short pages that say how signing in went."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rules.coordination_page import Coordinated
from rules.programme_page import Filters, Programme, programme
from rules.session_fields import REGIONS
from rules.sessions import SessionSummary
from rules.states import RegistrationStatus
from rules.voice import Voice
from rules.web_pages import Site, render


class HeldSession(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...


class HeldView(Protocol):
    """A person's registration as storage reads it (`storage.registrations.MyRegistration`)."""

    @property
    def session(self) -> HeldSession: ...
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


@dataclass(frozen=True)
class PersonalView:
    """A person's page: what they hold, and the sessions ahead (with a button each)."""

    person: Me
    programme: Programme


def personal_view(
    voice: Voice,
    user_id: str,
    held: Iterable[HeldView],
    summaries: Sequence[SessionSummary[Any]],
    series_titles: Mapping[int, str],
    coordinated: tuple[Coordinated, ...] | None = None,
) -> PersonalView:
    person = Me(
        user_id,
        tuple(
            HeldItem(
                r.session.id or 0,
                r.session.title,
                voice.short(r.session.starts_at),
                held_state(voice, r.status, r.position),
            )
            for r in held
        ),
        coordinated,
    )
    regions = tuple(REGIONS.values())
    return PersonalView(person, programme(voice, summaries, series_titles, [], [], Filters(), (), regions))


def me_page(voice: Voice, view: PersonalView, site: Site, form: Form, note: str | None) -> str:
    return render(
        voice,
        "me.html",
        me=view.person,
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
