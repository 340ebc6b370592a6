"""Registrations: a person's place in a session, the waiting list, who is registered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules import waitlist
from rules.waitlist import Seat
from storage.models import (
    PersonSettings,
    Registration,
    RegistrationStatus,
    Session,
    SessionStatus,
)
from storage.rows import row_id, save

ACTIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)


@dataclass(frozen=True)
class MyRegistration:
    """One of a person's registrations, with their place on the waiting list if they wait."""

    session: Session
    status: str
    position: int | None


async def registration(s: AsyncSession, session_id: int, user_id: str) -> Registration | None:
    query = select(Registration).where(Registration.session_id == session_id, Registration.user_id == user_id)
    return (await s.exec(query)).first()


async def active_registrations(s: AsyncSession, session_id: int) -> list[Registration]:
    query = (
        select(Registration)
        .where(Registration.session_id == session_id, col(Registration.status).in_(ACTIVE))
        .order_by(col(Registration.queued_at), col(Registration.id))
    )
    return list((await s.exec(query)).all())


async def active_seats(s: AsyncSession, session_id: int) -> list[Seat]:
    """The session's active registrations as the waiting-list rules see them, in queue order: read
    as plain rows, not objects to change (every registration reads them all)."""
    query = (
        select(Registration.user_id, Registration.status, Registration.queued_at)
        .where(Registration.session_id == session_id, col(Registration.status).in_(ACTIVE))
        .order_by(col(Registration.queued_at), col(Registration.id))
    )
    rows = (await s.exec(query)).all()
    return [Seat(user_id, RegistrationStatus(status), queued_at) for user_id, status, queued_at in rows]


def seats(registrations: list[Registration]) -> list[Seat]:
    return [Seat(r.user_id, r.status, r.queued_at) for r in registrations]


async def my_registrations(s: AsyncSession, user_id: str, now: datetime) -> list[MyRegistration]:
    """A person's active registrations for sessions that have not ended, with waiting positions."""
    ahead = aliased(Registration)
    position = (
        select(func.count(col(ahead.id)))
        .where(
            col(ahead.session_id) == col(Registration.session_id),
            col(ahead.status) == RegistrationStatus.WAITLISTED,
            or_(
                col(ahead.queued_at) < col(Registration.queued_at),
                and_(col(ahead.queued_at) == col(Registration.queued_at), col(ahead.id) < col(Registration.id)),
            ),
        )
        .scalar_subquery()
    )
    query = (
        select(Session, Registration.status, position)
        .join(Registration, col(Registration.session_id) == col(Session.id))
        .where(
            Registration.user_id == user_id,
            col(Registration.status).in_(ACTIVE),
            Session.status == SessionStatus.SCHEDULED,
            col(Session.ends_at) > now,
        )
        .order_by(col(Session.starts_at))
    )
    return [
        MyRegistration(row[0], row[1], row[2] + 1 if row[1] == RegistrationStatus.WAITLISTED else None)
        for row in (await s.exec(query)).all()
    ]


async def registration_by_reaction(s: AsyncSession, reaction_event_id: str) -> Registration | None:
    query = select(Registration).where(Registration.reaction_event_id == reaction_event_id)
    return (await s.exec(query)).first()


async def registrations_by_reaction(s: AsyncSession, reaction_event_id: str) -> list[Registration]:
    """Every registration one ✅ made (several when it was on a series' announcement)."""
    query = select(Registration).where(Registration.reaction_event_id == reaction_event_id)
    return list((await s.exec(query)).all())


async def registered_user_ids(s: AsyncSession, session_id: int) -> list[str]:
    """People with a place (not waiting), in the order they registered."""
    query = (
        select(Registration.user_id)
        .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.REGISTERED)
        .order_by(col(Registration.queued_at), col(Registration.id))
    )
    return list((await s.exec(query)).all())


async def dm_reminder_user_ids(s: AsyncSession, session_id: int) -> list[str]:
    """Registered people who get reminders by direct message (all but those who turned them off)."""
    query = (
        select(Registration.user_id)
        .outerjoin(PersonSettings, col(PersonSettings.user_id) == col(Registration.user_id))
        .where(
            Registration.session_id == session_id,
            Registration.status == RegistrationStatus.REGISTERED,
            or_(col(PersonSettings.dm_reminders).is_(None), col(PersonSettings.dm_reminders).is_(True)),
        )
        .order_by(col(Registration.queued_at), col(Registration.id))
    )
    return list((await s.exec(query)).all())


async def promote_waiting(s: AsyncSession, session: Session, now: datetime) -> list[str]:
    """Move people up from the waiting list into free places; returns who moved up."""
    current = await active_registrations(s, row_id(session))
    promoted = waitlist.promotions(session.capacity, seats(current))
    for moved in (r for r in current if r.user_id in promoted):
        moved.status, moved.updated_at = RegistrationStatus.REGISTERED, now
        await save(s, moved)
    return promoted
