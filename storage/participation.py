"""Who took part, as counts per session and municipality (no names): the registrations still
stored, and the counts kept of those the retention purge deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.participation import Attendance
from storage.models import ParticipationCount, Registration, RegistrationStatus, Session, SessionStatus


async def attendance(s: AsyncSession, start: datetime, end: datetime) -> tuple[list[Attendance], int]:
    """Places held in the sessions that started in [start, end) and were not cancelled, by session
    and municipality; and how many such sessions there were."""
    held = select(Session.id).where(
        col(Session.starts_at) >= start, col(Session.starts_at) < end, Session.status != SessionStatus.CANCELLED
    )
    live = (
        select(Registration.session_id, Registration.municipality, func.count())
        .where(col(Registration.session_id).in_(held), Registration.status == RegistrationStatus.REGISTERED)
        .group_by(col(Registration.session_id), col(Registration.municipality))
    )
    kept = select(
        ParticipationCount.session_id, ParticipationCount.municipality, ParticipationCount.registrations
    ).where(col(ParticipationCount.session_id).in_(held))
    rows = [Attendance(session, municipality, count) for session, municipality, count in (await s.exec(live)).all()]
    rows += [Attendance(session, municipality, count) for session, municipality, count in (await s.exec(kept)).all()]
    sessions = (await s.exec(select(func.count()).select_from(held.subquery()))).one()
    return rows, int(sessions)
