"""Sessions: reading them with their counts, locking one while its places are decided, materials."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from rules.errors import UserError
from rules.rendering.calendar_file import EVENT_FIELDS
from rules.sessions import SessionSummary, ref
from storage.models import (
    Material,
    Registration,
    RegistrationStatus,
    Session,
    SessionStatus,
)
from storage.rows import dialect_of


async def get_session(s: AsyncSession, session_id: int) -> Session | None:
    return await s.get(Session, session_id)


async def lock_session(s: AsyncSession, session_id: int) -> None:
    """Hold the session until the transaction ends, so decisions on its places take turns.

    PostgreSQL locks the row (SELECT … FOR UPDATE) and reads it afresh, also into a session
    object this transaction loaded before. On SQLite there is nothing to do (no query: a burst
    of registrations pays for each one): every transaction holds the database's write lock from
    its start (BEGIN IMMEDIATE, see storage.db), so what it read is current.
    """
    if dialect_of(s) == "sqlite":
        return
    query = select(Session).where(Session.id == session_id).with_for_update().execution_options(populate_existing=True)
    await s.exec(query)


def _counts() -> tuple[ColumnElement[int], ColumnElement[int]]:
    registered = func.count(col(Registration.id)).filter(col(Registration.status) == RegistrationStatus.REGISTERED)
    waitlisted = func.count(col(Registration.id)).filter(col(Registration.status) == RegistrationStatus.WAITLISTED)
    return registered, waitlisted


@dataclass(frozen=True)
class Scope:
    """Which sessions a listing shows: those announced in `rooms`, and of `region` (None: all)."""

    rooms: list[str]
    region: str | None = None


def _visible(query: SelectOfScalar[Any], scope: Scope | None) -> SelectOfScalar[Any]:
    """Only sessions of the scope's rooms, of its region or for both regions (or with none)."""
    if scope is None:
        return query
    query = query.where(col(Session.room_id).in_(scope.rooms))
    if scope.region is not None:
        query = query.where(or_(col(Session.region).is_(None), col(Session.region).contains(scope.region)))
    return query


async def upcoming_sessions(
    s: AsyncSession, now: datetime, limit: int = 50, scope: Scope | None = None
) -> list[SessionSummary[Session]]:
    """Scheduled sessions that have not ended, soonest first, with their counts."""
    registered, waitlisted = _counts()
    # Pick the sessions first (by the start-time index), then count only their registrations.
    first = (
        _visible(select(Session.id), scope)
        .where(Session.status == SessionStatus.SCHEDULED, col(Session.ends_at) > now)
        .order_by(col(Session.starts_at), col(Session.id))
        .limit(limit)
    )
    query = (
        select(Session, registered, waitlisted)
        .outerjoin(Registration, col(Registration.session_id) == col(Session.id))
        .where(col(Session.id).in_(first))
        .group_by(col(Session.id))
        .order_by(col(Session.starts_at), col(Session.id))
    )
    return [SessionSummary(row[0], row[1], row[2]) for row in (await s.exec(query)).all()]


async def session_summary(s: AsyncSession, session_id: int) -> SessionSummary[Session] | None:
    registered, waitlisted = _counts()
    query = (
        select(Session, registered, waitlisted)
        .outerjoin(Registration, col(Registration.session_id) == col(Session.id))
        .where(Session.id == session_id)
        .group_by(col(Session.id))
    )
    row = (await s.exec(query)).first()
    return SessionSummary(row[0], row[1], row[2]) if row else None


async def open_sessions(s: AsyncSession, now: datetime, scope: Scope | None = None) -> list[Session]:
    """Scheduled sessions that have not started: the ones people can still register for."""
    query = (
        _visible(select(Session), scope)
        .where(Session.status == SessionStatus.SCHEDULED, col(Session.starts_at) > now)
        .order_by(col(Session.starts_at), col(Session.id))
    )
    return list((await s.exec(query)).all())


async def running_sessions(
    s: AsyncSession, now: datetime, margin: timedelta, scope: Scope | None = None
) -> list[Session]:
    """Scheduled sessions under way (within `margin` before the start and after the end)."""
    query = (
        _visible(select(Session), scope)
        .where(
            Session.status == SessionStatus.SCHEDULED,
            col(Session.starts_at) <= now + margin,
            col(Session.ends_at) >= now - margin,
        )
        .order_by(col(Session.starts_at))
    )
    return list((await s.exec(query)).all())


async def past_sessions(s: AsyncSession, now: datetime, limit: int = 20, scope: Scope | None = None) -> list[Session]:
    """Sessions that have ended (not cancelled), latest first."""
    query = (
        _visible(select(Session), scope)
        .where(Session.status == SessionStatus.SCHEDULED, col(Session.ends_at) <= now)
        .order_by(col(Session.starts_at).desc())
        .limit(limit)
    )
    return list((await s.exec(query)).all())


async def next_end(s: AsyncSession, now: datetime, scope: Scope | None = None) -> datetime | None:
    """When the next session (not cancelled) ends after `now`: it moves into the past then."""
    query = _visible(select(func.min(col(Session.ends_at))), scope).where(
        Session.status == SessionStatus.SCHEDULED, col(Session.ends_at) > now
    )
    found: datetime | None = (await s.exec(query)).one()
    return found


async def materials(s: AsyncSession, session_ids: list[int]) -> list[Material]:
    if not session_ids:
        return []
    query = (
        select(Material)
        .where(col(Material.session_id).in_(session_ids))
        .order_by(col(Material.added_at), col(Material.id))
    )
    return list((await s.exec(query)).all())


async def find_session(s: AsyncSession, number: int) -> Session:
    """Session #number, or the user is told there is none."""
    session = await s.get(Session, number)
    if session is None:
        raise UserError("errors.unknown_session", ref=ref(number))
    return session


def record_change(session: Session, changed: Iterable[str], now: datetime) -> None:
    """Note that these fields of the session changed now; calendar entries show some of them, so a
    change of those raises the session's sequence (calendars then update the entry they have)."""
    session.updated_at = now
    if EVENT_FIELDS.intersection(changed):
        session.sequence += 1


async def feed_sessions(s: AsyncSession, since: datetime, scope: Scope) -> list[Session]:
    """Sessions of the scope that end after `since` (cancelled ones too), soonest first: what a
    calendar feed holds."""
    query = (
        _visible(select(Session), scope)
        .where(col(Session.ends_at) > since)
        .order_by(col(Session.starts_at), col(Session.id))
    )
    return list((await s.exec(query)).all())
