"""The coordinators' part of the web pages (pure): the sessions they coordinate with their counts
and forms to change or cancel them, and the form for a new session whose date field shows how
it is understood before anything is saved (the logic of `regiobot when`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rules.dates import parse_when
from rules.errors import UserError
from rules.rendering.web_pages import Site, region_label, render
from rules.sessions import SessionSummary
from rules.voice import Voice

MAX_FIELD = 500  # characters of one field of the form


@dataclass(frozen=True)
class Coordinated:
    """A session ahead the person coordinates: how many hold a place and how many wait."""

    number: int
    title: str
    date: str
    registered: int
    waiting: int


@dataclass(frozen=True)
class RoomChoice:
    room_id: str
    label: str


@dataclass(frozen=True)
class Draft:
    """A new session as typed into the form, and how its date is understood (or why it is not)."""

    room_id: str = ""
    title: str = ""
    when: str = ""
    capacity: str = ""
    link: str = ""
    understood: str = ""
    problem: str = ""

    def fields(self) -> str:
        """The same text a coordinator types after `!termin neu`."""
        parts = [self.title, self.when]
        if self.capacity:
            parts.append(f"Plätze: {self.capacity}")
        if self.link:
            parts.append(f"Link: {self.link}")
        return " | ".join(" ".join(p.replace("|", " ").split()) for p in parts)


def draft(voice: Voice, form: Mapping[str, str]) -> Draft:
    """The form's fields (each cut to MAX_FIELD), with the date read as `!termin neu` reads it."""
    values = {
        name: " ".join(form.get(name, "").split())[:MAX_FIELD] for name in ("raum", "titel", "wann", "plaetze", "link")
    }
    understood, problem = "", ""
    if values["wann"]:
        try:
            when = parse_when(values["wann"], voice.now, voice.timezone)
            understood = voice.when(when.start, when.end)
        except UserError as error:
            problem = voice.t(error.key, **error.params).plain
    return Draft(
        values["raum"], values["titel"], values["wann"], values["plaetze"], values["link"], understood, problem
    )


def coordinated(
    voice: Voice, summaries: Iterable[SessionSummary[Any]], rooms: Sequence[str]
) -> tuple[Coordinated, ...]:
    """The sessions ahead announced in `rooms` (where the person coordinates), with their counts."""
    return tuple(
        Coordinated(x.session.id, x.session.title, voice.short(x.session.starts_at), x.registered, x.waitlisted)
        for x in summaries
        if x.session.room_id in rooms and x.session.id is not None
    )


def room_choices(voice: Voice, rooms: Mapping[str, str | None]) -> tuple[RoomChoice, ...]:
    """The official rooms the person coordinates (room id → region), named by their region."""
    return tuple(RoomChoice(room_id, region_label(voice, region)) for room_id, region in rooms.items())


def new_session_page(voice: Voice, site: Site, rooms: Sequence[RoomChoice], csrf: str, entered: Draft) -> str:
    """The form for a new session (filled in again after "Prüfen", with the date as understood)."""
    return render(voice, "coordination.html", site=site, rooms=rooms, csrf=csrf, draft=entered)
