"""People: their settings, everything stored about one person, and deleting it (DSGVO)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Material,
    PersonSettings,
    PlannedMessage,
    Question,
    Registration,
    Session,
    Vote,
)
from storage.rows import save

# What stands in for a deleted person where a record must stay.
FORGOTTEN = "(gelöscht)"


async def settings_for(s: AsyncSession, user_id: str, now: datetime) -> PersonSettings:
    """A person's settings: the stored ones, or new defaults (saved only when the caller saves them)."""
    return await s.get(PersonSettings, user_id) or PersonSettings(user_id=user_id, updated_at=now)


@dataclass(frozen=True)
class PersonData:
    """Everything stored about one person."""

    settings: PersonSettings | None
    registrations: list[tuple[Registration, Session]]
    sessions_created: list[Session]
    materials_added: list[Material]
    direct_messages: list[PlannedMessage]
    questions: list[Question]


async def person_data(s: AsyncSession, user_id: str) -> PersonData:
    registrations = await s.exec(
        select(Registration, Session)
        .join(Session, col(Session.id) == col(Registration.session_id))
        .where(Registration.user_id == user_id)
        .order_by(col(Session.starts_at))
    )
    created = await s.exec(select(Session).where(Session.created_by == user_id).order_by(col(Session.id)))
    added = await s.exec(select(Material).where(Material.added_by == user_id).order_by(col(Material.id)))
    direct = await s.exec(
        select(PlannedMessage).where(PlannedMessage.user_id == user_id).order_by(col(PlannedMessage.due_at))
    )
    asked = await s.exec(select(Question).where(Question.author == user_id).order_by(col(Question.asked_at)))
    return PersonData(
        await s.get(PersonSettings, user_id),
        [(r, x) for r, x in registrations.all()],
        list(created.all()),
        list(added.all()),
        list(direct.all()),
        list(asked.all()),
    )


async def forget_person(s: AsyncSession, user_id: str, placeholder: str = FORGOTTEN) -> None:
    """Delete a person's registrations, settings, votes and direct messages; where a record must
    stay (a session they created, material they added, a question they asked) their id is
    replaced by `placeholder`."""
    await s.exec(delete(Registration).where(col(Registration.user_id) == user_id))
    await s.exec(delete(Vote).where(col(Vote.user_id) == user_id))
    for question in (await s.exec(select(Question).where(Question.author == user_id))).all():
        question.author = placeholder
        await save(s, question)
    await s.exec(delete(PlannedMessage).where(col(PlannedMessage.user_id) == user_id))
    await s.exec(delete(PersonSettings).where(col(PersonSettings.user_id) == user_id))
    for session in (await s.exec(select(Session).where(Session.created_by == user_id))).all():
        session.created_by = placeholder
        await save(s, session)
    for material in (await s.exec(select(Material).where(Material.added_by == user_id))).all():
        material.added_by = placeholder
        await save(s, material)


async def purge_ended(s: AsyncSession, ended_before: datetime, placeholder: str = FORGOTTEN) -> int:
    """Delete the personal data of sessions that ended before `ended_before` (registrations,
    votes, direct messages; question authors become `placeholder`); how many sessions had people."""
    ended = select(Session.id).where(col(Session.ends_at) < ended_before)
    asked = select(Question.id).where(col(Question.session_id).in_(ended))
    await s.exec(delete(Vote).where(col(Vote.question_id).in_(asked)))
    for question in (
        await s.exec(select(Question).where(col(Question.session_id).in_(ended), Question.author != placeholder))
    ).all():
        question.author = placeholder
        await save(s, question)
    with_people = (
        await s.exec(
            select(func.count(func.distinct(Registration.session_id))).where(col(Registration.session_id).in_(ended))
        )
    ).one()
    await s.exec(delete(Registration).where(col(Registration.session_id).in_(ended)))
    await s.exec(
        delete(PlannedMessage).where(
            col(PlannedMessage.session_id).in_(ended), col(PlannedMessage.user_id).is_not(None)
        )
    )
    return int(with_people)
