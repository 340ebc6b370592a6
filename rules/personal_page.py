"""A signed-in person's pages (pure): `/ich` with their registrations and a button on every
session ahead, the room widget, and the short pages that say how signing in went."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from rules.programme_page import Programme
from rules.states import RegistrationStatus
from rules.voice import Voice
from rules.web_pages import Site, render


class HeldView(Protocol):
    """A person's registration as storage reads it (`storage.registrations.MyRegistration`)."""

    @property
    def status(self) -> RegistrationStatus: ...
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


def held_state(voice: Voice, status: RegistrationStatus, position: int | None) -> str:
    if status == RegistrationStatus.REGISTERED:
        return voice.t("web.held_place").plain
    return voice.t("web.held_waiting", position=position or "?").plain


def me(voice: Voice, user_id: str, held: Iterable[tuple[int, str, datetime, RegistrationStatus, int | None]]) -> Me:
    """The person's page content: (number, title, start, status, waiting position) per registration."""
    return Me(
        user_id,
        tuple(
            HeldItem(number, title, voice.short(start), held_state(voice, status, position))
            for number, title, start, status, position in held
        ),
    )


def me_page(voice: Voice, person: Me, programme: Programme, site: Site, form: Form, note: str | None) -> str:
    return render(
        voice, "me.html", me=person, programme=programme, site=site, csrf=form.csrf, back=form.back, note=note
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
    """The widget page: signed in (with the person's page content) or about to ask its host."""

    person: Me | None = None
    programme: Programme | None = None
    form: Form | None = None
    note: str | None = None
    script: str = ""
    failed: bool = field(default=False)


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
