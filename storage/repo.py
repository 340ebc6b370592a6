"""Queries and writes, one function per question the bot asks of its database."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from commands.waitlist import Seat
from storage.models import (
    BotState,
    HandledEvent,
    Material,
    PersonSettings,
    PlannedMessage,
    PlannedStatus,
    QaRound,
    Question,
    QuestionStatus,
    Registration,
    RegistrationStatus,
    Session,
    SessionStatus,
    Vote,
)

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


async def lock_session(s: AsyncSession, session_id: int) -> None:
    """Hold the session until the transaction ends, so decisions on its places take turns.

    PostgreSQL locks the row (SELECT … FOR UPDATE) and reads it afresh, also into a session
    object this transaction loaded before. SQLite leaves out FOR UPDATE: there every transaction
    holds the database's write lock from its start (BEGIN IMMEDIATE, see storage.db).
    """
    query = (select(Session).where(Session.id == session_id).with_for_update()
             .execution_options(populate_existing=True))
    await s.exec(query)


def _counts() -> tuple[object, object]:
    registered = func.count(Registration.id).filter(Registration.status == RegistrationStatus.REGISTERED)
    waitlisted = func.count(Registration.id).filter(Registration.status == RegistrationStatus.WAITLISTED)
    return registered, waitlisted


async def upcoming_sessions(s: AsyncSession, now: datetime, limit: int = 50) -> list[SessionSummary]:
    """Scheduled sessions that have not ended, soonest first, with their counts."""
    registered, waitlisted = _counts()
    # Pick the sessions first (by the start-time index), then count only their registrations.
    first = (select(Session.id)
             .where(Session.status == SessionStatus.SCHEDULED, col(Session.ends_at) > now)
             .order_by(col(Session.starts_at), col(Session.id)).limit(limit))
    query = (
        select(Session, registered, waitlisted)
        .outerjoin(Registration, col(Registration.session_id) == col(Session.id))
        .where(col(Session.id).in_(first))
        .group_by(col(Session.id))
        .order_by(col(Session.starts_at), col(Session.id))
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


async def prune_handled(s: AsyncSession, before: datetime) -> None:
    """Forget answered events older than `before` (sync never hands them out again)."""
    await s.exec(delete(HandledEvent).where(col(HandledEvent.handled_at) < before))


async def registration_by_reaction(s: AsyncSession, reaction_event_id: str) -> Registration | None:
    query = select(Registration).where(Registration.reaction_event_id == reaction_event_id)
    return (await s.exec(query)).first()


async def registered_user_ids(s: AsyncSession, session_id: int) -> list[str]:
    """People with a place (not waiting), in the order they registered."""
    query = (select(Registration.user_id)
             .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.REGISTERED)
             .order_by(col(Registration.queued_at), col(Registration.id)))
    return list((await s.exec(query)).all())


async def dm_reminder_user_ids(s: AsyncSession, session_id: int) -> list[str]:
    """Registered people who asked for reminders by direct message."""
    query = (select(Registration.user_id)
             .join(PersonSettings, col(PersonSettings.user_id) == col(Registration.user_id))
             .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.REGISTERED,
                    col(PersonSettings.dm_reminders).is_(True))
             .order_by(col(Registration.queued_at), col(Registration.id)))
    return list((await s.exec(query)).all())


async def person_settings(s: AsyncSession, user_id: str) -> PersonSettings | None:
    return await s.get(PersonSettings, user_id)


async def save_settings(s: AsyncSession, settings: PersonSettings) -> None:
    await s.merge(settings)


async def planned_by_key(s: AsyncSession, key: str) -> PlannedMessage | None:
    return (await s.exec(select(PlannedMessage).where(PlannedMessage.key == key))).first()


async def planned_of_session(s: AsyncSession, session_id: int, kinds: Iterable[str]) -> list[PlannedMessage]:
    query = (select(PlannedMessage)
             .where(PlannedMessage.session_id == session_id, col(PlannedMessage.kind).in_(list(kinds)))
             .order_by(col(PlannedMessage.due_at), col(PlannedMessage.id)))
    return list((await s.exec(query)).all())


def _in_room(query, room_id: str | None):  # type: ignore[no-untyped-def]
    """Only planned messages of sessions announced in `room_id` (all when None)."""
    if room_id is None:
        return query
    return query.join(Session, col(Session.id) == col(PlannedMessage.session_id)).where(Session.room_id == room_id)


async def pending(s: AsyncSession, session_id: int | None = None, due_by: datetime | None = None,
                  limit: int | None = None, room_id: str | None = None) -> list[PlannedMessage]:
    """Messages still to send, soonest first (of one session or room, or due by a time)."""
    query = _in_room(select(PlannedMessage).where(PlannedMessage.status == PlannedStatus.PENDING), room_id)
    if session_id is not None:
        query = query.where(PlannedMessage.session_id == session_id)
    if due_by is not None:
        query = query.where(col(PlannedMessage.due_at) <= due_by)
    query = query.order_by(col(PlannedMessage.due_at), col(PlannedMessage.id)).limit(limit)
    return list((await s.exec(query)).all())


async def planned(s: AsyncSession, planned_id: int) -> PlannedMessage | None:
    return await s.get(PlannedMessage, planned_id)


async def save_planned(s: AsyncSession, row: PlannedMessage) -> PlannedMessage:
    s.add(row)
    await s.flush()
    return row


async def planned_counts(s: AsyncSession) -> dict[str, int]:
    """How many planned messages there are in each status."""
    query = select(PlannedMessage.status, func.count()).group_by(col(PlannedMessage.status))
    return {status: count for status, count in (await s.exec(query)).all()}


async def announcement_by_event(s: AsyncSession, event_id: str) -> PlannedMessage | None:
    query = select(PlannedMessage).where(PlannedMessage.sent_event_id == event_id,
                                         PlannedMessage.kind == "announcement")
    return (await s.exec(query)).first()


async def latest_announcement(s: AsyncSession, session_id: int) -> PlannedMessage | None:
    """The announcement of a session sent last: the one kept current."""
    query = (select(PlannedMessage)
             .where(PlannedMessage.session_id == session_id, PlannedMessage.kind == "announcement",
                    PlannedMessage.status == PlannedStatus.SENT)
             .order_by(col(PlannedMessage.sent_at).desc(), col(PlannedMessage.id).desc()))
    return (await s.exec(query)).first()


async def troubled(s: AsyncSession, since: datetime, limit: int = 20,
                   room_id: str | None = None) -> list[PlannedMessage]:
    """Messages that were skipped, failed or sent late since `since`, newest first."""
    query = (_in_room(select(PlannedMessage), room_id)
             .where(col(PlannedMessage.due_at) >= since,
                    or_(col(PlannedMessage.status).in_([PlannedStatus.SKIPPED, PlannedStatus.FAILED]),
                        and_(PlannedMessage.status == PlannedStatus.SENT, col(PlannedMessage.late).is_(True)),
                        and_(PlannedMessage.status == PlannedStatus.PENDING, col(PlannedMessage.attempts) > 0)))
             .order_by(col(PlannedMessage.due_at).desc())
             .limit(limit))
    return list((await s.exec(query)).all())


async def add_material(s: AsyncSession, material: Material) -> None:
    s.add(material)
    await s.flush()


async def past_sessions(s: AsyncSession, now: datetime, limit: int = 20) -> list[Session]:
    """Sessions that have ended (not cancelled), latest first."""
    query = (select(Session)
             .where(Session.status == SessionStatus.SCHEDULED, col(Session.ends_at) <= now)
             .order_by(col(Session.starts_at).desc())
             .limit(limit))
    return list((await s.exec(query)).all())


async def materials(s: AsyncSession, session_ids: list[int]) -> list[Material]:
    if not session_ids:
        return []
    query = (select(Material).where(col(Material.session_id).in_(session_ids))
             .order_by(col(Material.added_at), col(Material.id)))
    return list((await s.exec(query)).all())


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
        select(Registration, Session).join(Session, col(Session.id) == col(Registration.session_id))
        .where(Registration.user_id == user_id).order_by(col(Session.starts_at)))
    created = await s.exec(select(Session).where(Session.created_by == user_id).order_by(col(Session.id)))
    added = await s.exec(select(Material).where(Material.added_by == user_id).order_by(col(Material.id)))
    direct = await s.exec(select(PlannedMessage).where(PlannedMessage.user_id == user_id)
                          .order_by(col(PlannedMessage.due_at)))
    asked = await s.exec(select(Question).where(Question.author == user_id).order_by(col(Question.asked_at)))
    return PersonData(await s.get(PersonSettings, user_id), [(r, x) for r, x in registrations.all()],
                      list(created.all()), list(added.all()), list(direct.all()), list(asked.all()))


async def forget_person(s: AsyncSession, user_id: str, placeholder: str) -> None:
    """Delete a person's registrations, settings, votes and direct messages; where a record must
    stay (a session they created, material they added, a question they asked) their id is
    replaced by `placeholder`."""
    await s.exec(delete(Registration).where(col(Registration.user_id) == user_id))
    await s.exec(delete(Vote).where(col(Vote.user_id) == user_id))
    for question in (await s.exec(select(Question).where(Question.author == user_id))).all():
        question.author = placeholder
        s.add(question)
    await s.exec(delete(PlannedMessage).where(col(PlannedMessage.user_id) == user_id))
    await s.exec(delete(PersonSettings).where(col(PersonSettings.user_id) == user_id))
    for session in (await s.exec(select(Session).where(Session.created_by == user_id))).all():
        session.created_by = placeholder
        s.add(session)
    for material in (await s.exec(select(Material).where(Material.added_by == user_id))).all():
        material.added_by = placeholder
        s.add(material)
    await s.flush()


async def purge_ended(s: AsyncSession, ended_before: datetime, placeholder: str) -> int:
    """Delete the personal data of sessions that ended before `ended_before` (registrations,
    votes, direct messages; question authors become `placeholder`); how many sessions had people."""
    ended = select(Session.id).where(col(Session.ends_at) < ended_before)
    asked = select(Question.id).where(col(Question.session_id).in_(ended))
    await s.exec(delete(Vote).where(col(Vote.question_id).in_(asked)))
    for question in (await s.exec(select(Question).where(col(Question.session_id).in_(ended),
                                                         Question.author != placeholder))).all():
        question.author = placeholder
        s.add(question)
    with_people = (await s.exec(select(func.count(func.distinct(Registration.session_id)))
                                .where(col(Registration.session_id).in_(ended)))).one()
    await s.exec(delete(Registration).where(col(Registration.session_id).in_(ended)))
    await s.exec(delete(PlannedMessage).where(col(PlannedMessage.session_id).in_(ended),
                                              col(PlannedMessage.user_id).is_not(None)))
    return int(with_people)


@dataclass(frozen=True)
class QuestionVotes:
    """A question with the number of votes it has."""

    question: Question
    votes: int


async def running_sessions(s: AsyncSession, now: datetime, margin: timedelta) -> list[Session]:
    """Scheduled sessions under way (within `margin` before the start and after the end)."""
    query = (select(Session)
             .where(Session.status == SessionStatus.SCHEDULED, col(Session.starts_at) <= now + margin,
                    col(Session.ends_at) >= now - margin)
             .order_by(col(Session.starts_at)))
    return list((await s.exec(query)).all())


async def open_round(s: AsyncSession, session_id: int) -> QaRound | None:
    query = select(QaRound).where(QaRound.session_id == session_id, col(QaRound.closed_at).is_(None))
    return (await s.exec(query)).first()


async def round_by_root(s: AsyncSession, root_event_id: str) -> QaRound | None:
    return (await s.exec(select(QaRound).where(QaRound.root_event_id == root_event_id))).first()


async def latest_round(s: AsyncSession, *, session_id: int | None = None, room_id: str | None = None,
                       only_open: bool = False) -> QaRound | None:
    """The most recent round of a session, or in a room."""
    query = select(QaRound)
    if session_id is not None:
        query = query.where(QaRound.session_id == session_id)
    if room_id is not None:
        query = query.where(QaRound.room_id == room_id)
    if only_open:
        query = query.where(col(QaRound.closed_at).is_(None))
    return (await s.exec(query.order_by(col(QaRound.opened_at).desc(), col(QaRound.id).desc()))).first()


async def save_row(s: AsyncSession, row: SQLModel) -> None:
    s.add(row)
    await s.flush()


async def next_question_number(s: AsyncSession, session_id: int) -> int:
    query = select(func.coalesce(func.max(Question.number), 0)).where(Question.session_id == session_id)
    return int((await s.exec(query)).one()) + 1


async def questions(s: AsyncSession, session_id: int) -> list[QuestionVotes]:
    """A session's questions with their votes, in the order they were asked."""
    votes = func.count(Vote.id)
    query = (select(Question, votes).outerjoin(Vote, col(Vote.question_id) == col(Question.id))
             .where(Question.session_id == session_id).group_by(col(Question.id)).order_by(col(Question.number)))
    return [QuestionVotes(row[0], row[1]) for row in (await s.exec(query)).all()]


async def waiting_questions(s: AsyncSession, session_id: int) -> list[Question]:
    """Questions sent before the round, not yet posted in its thread."""
    query = (select(Question).where(Question.session_id == session_id, col(Question.event_id).is_(None),
                                    Question.status == QuestionStatus.OPEN)
             .order_by(col(Question.number)))
    return list((await s.exec(query)).all())


async def question_by_number(s: AsyncSession, session_id: int, number: int) -> Question | None:
    query = select(Question).where(Question.session_id == session_id, Question.number == number)
    return (await s.exec(query)).first()


async def question_by_event(s: AsyncSession, event_id: str) -> Question | None:
    return (await s.exec(select(Question).where(Question.event_id == event_id))).first()


async def add_vote(s: AsyncSession, vote: Vote) -> bool:
    """Count a vote; False when this person had voted for the question already."""
    existing = await s.exec(select(Vote).where(Vote.question_id == vote.question_id, Vote.user_id == vote.user_id))
    if existing.first() is not None:
        return False
    s.add(vote)
    await s.flush()
    return True


async def vote_by_reaction(s: AsyncSession, reaction_event_id: str) -> Vote | None:
    return (await s.exec(select(Vote).where(Vote.reaction_event_id == reaction_event_id))).first()


async def delete_row(s: AsyncSession, row: SQLModel) -> None:
    await s.delete(row)
    await s.flush()


async def qa_summary(s: AsyncSession, session_id: int) -> tuple[int, int] | None:
    """(answered, still open) questions of a session whose round has closed; None without one."""
    closed = await s.exec(select(QaRound.id).where(QaRound.session_id == session_id,
                                                   col(QaRound.closed_at).is_not(None)))
    if closed.first() is None:
        return None
    counts = dict((await s.exec(select(Question.status, func.count(Question.id))
                                .where(Question.session_id == session_id).group_by(Question.status))).all())
    return counts.get(QuestionStatus.ANSWERED, 0), counts.get(QuestionStatus.OPEN, 0)
