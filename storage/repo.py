"""Queries and writes, one function per question the bot asks of its database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from commands.waitlist import Seat
from storage.models import BotState, HandledEvent, Registration, RegistrationStatus, Session, SessionStatus

ACTIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)


@dataclass(frozen=True)
class SessionSummary:
    """A session with its counts, for lists."""

    session: Session
    registered: int
    waitlisted: int


@dataclass(frozen=True)
class MyRegistration:
    """One of a person's registrations, with their place on the waiting list if they wait."""

    session: Session
    status: str
    position: int | None


async def get_state(s: AsyncSession, key: str) -> str | None:
    row = await s.get(BotState, key)
    return row.value if row else None


async def set_state(s: AsyncSession, key: str, value: str) -> None:
    await s.merge(BotState(key=key, value=value))


async def handled(s: AsyncSession, event_ids: list[str]) -> set[str]:
    """Which of these events were already answered."""
    if not event_ids:
        return set()
    rows = await s.exec(select(HandledEvent.event_id).where(col(HandledEvent.event_id).in_(event_ids)))
    return set(rows.all())


async def mark_handled(s: AsyncSession, event_id: str, room_id: str, now: datetime) -> None:
    await s.merge(HandledEvent(event_id=event_id, room_id=room_id, handled_at=now))


async def add_session(s: AsyncSession, session: Session) -> Session:
    s.add(session)
    await s.flush()
    return session


async def get_session(s: AsyncSession, session_id: int) -> Session | None:
    return await s.get(Session, session_id)


def _counts() -> tuple[object, object]:
    registered = func.count(Registration.id).filter(Registration.status == RegistrationStatus.REGISTERED)
    waitlisted = func.count(Registration.id).filter(Registration.status == RegistrationStatus.WAITLISTED)
    return registered, waitlisted


async def upcoming_sessions(s: AsyncSession, now: datetime, limit: int = 50) -> list[SessionSummary]:
    """Scheduled sessions that have not ended, soonest first, with their counts."""
    registered, waitlisted = _counts()
    query = (
        select(Session, registered, waitlisted)
        .outerjoin(Registration, col(Registration.session_id) == col(Session.id))
        .where(Session.status == SessionStatus.SCHEDULED, col(Session.ends_at) > now)
        .group_by(col(Session.id))
        .order_by(col(Session.starts_at), col(Session.id))
        .limit(limit)
    )
    return [SessionSummary(row[0], row[1], row[2]) for row in (await s.exec(query)).all()]


async def session_summary(s: AsyncSession, session_id: int) -> SessionSummary | None:
    registered, waitlisted = _counts()
    query = (
        select(Session, registered, waitlisted)
        .outerjoin(Registration, col(Registration.session_id) == col(Session.id))
        .where(Session.id == session_id)
        .group_by(col(Session.id))
    )
    row = (await s.exec(query)).first()
    return SessionSummary(row[0], row[1], row[2]) if row else None


async def open_sessions(s: AsyncSession, now: datetime) -> list[Session]:
    """Scheduled sessions that have not started: the ones people can still register for."""
    query = (select(Session)
             .where(Session.status == SessionStatus.SCHEDULED, col(Session.starts_at) > now)
             .order_by(col(Session.starts_at), col(Session.id)))
    return list((await s.exec(query)).all())


async def registration(s: AsyncSession, session_id: int, user_id: str) -> Registration | None:
    query = select(Registration).where(Registration.session_id == session_id, Registration.user_id == user_id)
    return (await s.exec(query)).first()


async def active_registrations(s: AsyncSession, session_id: int) -> list[Registration]:
    query = (select(Registration)
             .where(Registration.session_id == session_id, col(Registration.status).in_(ACTIVE))
             .order_by(col(Registration.queued_at), col(Registration.id)))
    return list((await s.exec(query)).all())


def seats(registrations: list[Registration]) -> list[Seat]:
    return [Seat(r.user_id, r.status, r.queued_at) for r in registrations]


async def save(s: AsyncSession, row: Registration) -> None:
    s.add(row)
    await s.flush()


async def my_registrations(s: AsyncSession, user_id: str, now: datetime) -> list[MyRegistration]:
    """A person's active registrations for sessions that have not ended, with waiting positions."""
    ahead = aliased(Registration)
    position = (
        select(func.count(ahead.id))
        .where(ahead.session_id == Registration.session_id,
               ahead.status == RegistrationStatus.WAITLISTED,
               or_(ahead.queued_at < Registration.queued_at,
                   and_(ahead.queued_at == Registration.queued_at, ahead.id < Registration.id)))
        .scalar_subquery()
    )
    query = (
        select(Session, Registration.status, position)
        .join(Registration, col(Registration.session_id) == col(Session.id))
        .where(Registration.user_id == user_id, col(Registration.status).in_(ACTIVE),
               Session.status == SessionStatus.SCHEDULED, col(Session.ends_at) > now)
        .order_by(col(Session.starts_at))
    )
    return [
        MyRegistration(row[0], row[1], row[2] + 1 if row[1] == RegistrationStatus.WAITLISTED else None)
        for row in (await s.exec(query)).all()
    ]
