"""What the programme pages read: the sessions ahead in official rooms with their counts, the
titles of their series, open topic wishes with their votes, and open board entries (of one
category, or matching a text by the board's full-text search); on a person's page, also what
they hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.rendering.programme_page import Filters
from rules.sessions import SessionSummary
from storage import board, municipalities, registrations, series, sessions, topics
from storage.models import BoardEntry, Registration, RegistrationStatus, Session, SessionStatus, Topic
from storage.registrations import MyRegistration
from storage.sessions import Scope

SESSIONS_SHOWN = 200
RATEABLE_FOR = timedelta(days=60)  # how long after a session /ich offers to rate it
ENTRIES_SHOWN = 100


@dataclass(frozen=True)
class ProgrammeRows:
    summaries: list[SessionSummary[Session]]
    series_titles: dict[int, str]
    wishes: list[tuple[Topic, int]]
    entries: list[BoardEntry]


async def programme_rows(s: AsyncSession, now: datetime, rooms: list[str], filters: Filters) -> ProgrammeRows:
    """Everything the programme shows, as `filters` narrow it (the region: sessions and wishes;
    the category and the text: board entries)."""
    scope = Scope(rooms, filters.region)
    summaries = await sessions.upcoming_sessions(s, now, SESSIONS_SHOWN, scope)
    titles = await series.titles(s, {x.session.series_id for x in summaries if x.session.series_id})
    wishes = [(x.topic, x.votes) for x in await topics.open_topics(s, scope)]
    if filters.text:
        entries = await board.search(s, filters.text, now, ENTRIES_SHOWN)
        if filters.category:
            entries = [e for e in entries if e.category == filters.category]
    else:
        entries = await board.listing(s, now, ENTRIES_SHOWN, category=filters.category)
    return ProgrammeRows(summaries, titles, wishes, entries)


@dataclass(frozen=True)
class PersonalRows:
    summaries: list[SessionSummary[Session]]
    series_titles: dict[int, str]
    held: list[MyRegistration]
    wishes: list[tuple[Topic, int]]
    municipality: str | None
    rateable: list[Session]
    entries: list[BoardEntry]  # active entries of others, newest first
    own_entries: list[BoardEntry]


async def personal_rows(s: AsyncSession, user_id: str, now: datetime, rooms: list[str]) -> PersonalRows:
    """The sessions ahead, the person's places and waiting positions in those not yet begun, the
    open wishes with their votes, and the municipality the person gave."""
    summaries = await sessions.upcoming_sessions(s, now, SESSIONS_SHOWN, Scope(rooms))
    titles = await series.titles(s, {x.session.series_id for x in summaries if x.session.series_id})
    held = [
        r
        for r in await registrations.my_registrations(s, user_id, now)
        if r.session.starts_at > now and r.session.room_id in rooms
    ]
    wishes = [(x.topic, x.votes) for x in await topics.open_topics(s, Scope(rooms))]
    municipality = await municipalities.municipality_of(s, user_id)
    others = [e for e in await board.listing(s, now, ENTRIES_SHOWN) if e.author != user_id]
    own_query = select(BoardEntry).where(BoardEntry.author == user_id).order_by(col(BoardEntry.id).desc())
    own = list((await s.exec(own_query.limit(ENTRIES_SHOWN))).all())
    past = await rateable(s, user_id, now, rooms)
    return PersonalRows(summaries, titles, held, wishes, municipality, past, others, own)


async def rateable(s: AsyncSession, user_id: str, now: datetime, rooms: list[str]) -> list[Session]:
    """Sessions of these rooms that ended within RATEABLE_FOR and were not cancelled, in which the
    person held a place: the ones they may rate, latest first."""
    query = (
        select(Session)
        .join(Registration, col(Registration.session_id) == col(Session.id))
        .where(
            Registration.user_id == user_id,
            Registration.status == RegistrationStatus.REGISTERED,
            Session.status == SessionStatus.SCHEDULED,
            col(Session.room_id).in_(rooms),
            col(Session.ends_at) <= now,
            col(Session.ends_at) > now - RATEABLE_FOR,
        )
        .order_by(col(Session.ends_at).desc())
    )
    return list((await s.exec(query)).all())
