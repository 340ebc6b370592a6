"""Sessions: creating one (parsed from a coordinator's fields, announced in an official room where
the sender coordinates) and saving it with its announcements and reminders planned; reading the
programme — the sessions ahead, one session, its calendar file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.roles import Role
from rules.errors import UserError
from rules.rendering.calendar_file import filename, session_calendar
from rules.session_fields import parse_new
from rules.sessions import SessionSummary, ref
from storage import planned, series, sessions
from storage.models import Session
from storage.rows import save


@dataclass(frozen=True)
class CalendarFile:
    """An iCalendar file (text/calendar) and the name it is offered under."""

    data: bytes
    filename: str


@dataclass(frozen=True)
class Programme:
    """The sessions ahead with their counts, and the titles of the series among them (by number)."""

    summaries: list[SessionSummary[Session]]
    series_titles: dict[int, str]


async def new_session(act: Acting, s: AsyncSession, fields: str, room_id: str) -> Session:
    """Parse the fields of `!termin neu`, save the session (announced in `room_id` unless the
    fields name another official room, see `announcing_room`) and plan its messages."""
    values = parse_new(
        fields, act.now, act.timezone, act.config.default_capacity, timedelta(minutes=act.config.session_minutes)
    )
    room_id = announcing_room(act, values, room_id)
    return await add_session(act, s, values, room_id)


def announcing_room(act: Acting, values: dict[str, Any], default: str | None = None) -> str:
    """The official room a new session is announced in: `default` (the room acted from unless
    given), or the one named with `Raum:`. The sender must coordinate in that room — power in
    another room, even the one acted from, gives no say over it — and only a coordinator from the
    config names a room other than the one acted from. Takes `room_id` out of `values` and fills
    in the region."""
    named: str | None = values.pop("room_id", None)
    room_id = named or default or act.room_id
    if not act.official.is_official(room_id):
        raise UserError("coordination.not_official")
    act.require_in_room(Role.COORDINATOR, room_id)
    if named not in (None, act.room_id) and not act.roles.configured_coordinator(act.sender):
        raise UserError("coordination.not_official")
    values["region"] = values.get("region") or act.official.region(room_id)
    return room_id


async def add_session(act: Acting, s: AsyncSession, values: dict[str, Any], room_id: str) -> Session:
    """Save a new session with its announcements and reminders planned."""
    session = await save(s, Session(**values, room_id=room_id, created_by=act.sender, created_at=act.now))
    await planned.plan_session(s, session, act.config, act.now)
    act.plans.changed(session.number)
    return session


async def coordinated(act: Acting, s: AsyncSession, number: int) -> Session:
    """Session #number, if the sender coordinates in the room it is announced in (power in
    another room of one's own gives no say over it)."""
    session = await act.find_session(s, number)
    act.require(Role.COORDINATOR, session)
    return session


async def programme(act: Acting, s: AsyncSession) -> Programme:
    """The sessions ahead in the acting person's scope (in a region's room that region's and
    those for both; off the chat every official one)."""
    summaries = await sessions.upcoming_sessions(s, act.now, scope=act.scope())
    titles = await series.titles(s, {x.session.series_id for x in summaries if x.session.series_id})
    return Programme(summaries, titles)


async def session_summary(act: Acting, s: AsyncSession, number: int) -> SessionSummary[Session]:
    """Session #number with its counts, if it is announced in an official room."""
    summary = await sessions.session_summary(s, number)
    if summary is None or not act.official.is_official(summary.session.room_id):
        raise UserError("errors.unknown_session", ref=ref(number))
    return summary


async def calendar_file(act: Acting, s: AsyncSession, number: int) -> CalendarFile:
    """Session #number as a calendar file (a cancelled one as a cancellation)."""
    session = await act.find_session(s, number)
    data = session_calendar(session, act.timezone, act.now, act.config.matrix.server_name)
    return CalendarFile(data, filename(session))
