"""Q&A rounds, questions and votes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    QaRound,
    Question,
    QuestionStatus,
    Vote,
)
from storage.rows import add_once, delete, save
from storage.sessions import lock_session


@dataclass(frozen=True)
class QuestionVotes:
    """A question with the number of votes it has."""

    question: Question
    votes: int


async def open_round(s: AsyncSession, session_id: int) -> QaRound | None:
    query = select(QaRound).where(QaRound.session_id == session_id, col(QaRound.closed_at).is_(None))
    return (await s.exec(query)).first()


async def round_by_root(s: AsyncSession, root_event_id: str) -> QaRound | None:
    return (await s.exec(select(QaRound).where(QaRound.root_event_id == root_event_id))).first()


async def latest_round(
    s: AsyncSession, *, session_id: int | None = None, room_id: str | None = None, only_open: bool = False
) -> QaRound | None:
    """The most recent round of a session, or in a room."""
    query = select(QaRound)
    if session_id is not None:
        query = query.where(QaRound.session_id == session_id)
    if room_id is not None:
        query = query.where(QaRound.room_id == room_id)
    if only_open:
        query = query.where(col(QaRound.closed_at).is_(None))
    return (await s.exec(query.order_by(col(QaRound.opened_at).desc(), col(QaRound.id).desc()))).first()


async def next_question_number(s: AsyncSession, session_id: int) -> int:
    query = select(func.coalesce(func.max(Question.number), 0)).where(Question.session_id == session_id)
    return int((await s.exec(query)).one()) + 1


async def questions_asked(s: AsyncSession, session_id: int, author: str, round_id: int | None) -> int:
    """How many questions `author` asked for a session's coming or open round (`round_id`):
    those sent before it and those in it."""
    unposted = col(Question.round_id).is_(None)
    in_round = unposted if round_id is None else or_(unposted, col(Question.round_id) == round_id)
    query = select(func.count(col(Question.id))).where(
        Question.session_id == session_id, Question.author == author, in_round
    )
    return int((await s.exec(query)).one())


async def questions(s: AsyncSession, session_id: int) -> list[QuestionVotes]:
    """A session's questions with their votes, in the order they were asked."""
    votes = func.count(col(Vote.id))
    query = (
        select(Question, votes)
        .outerjoin(Vote, col(Vote.question_id) == col(Question.id))
        .where(Question.session_id == session_id)
        .group_by(col(Question.id))
        .order_by(col(Question.number))
    )
    return [QuestionVotes(row[0], row[1]) for row in (await s.exec(query)).all()]


async def waiting_questions(s: AsyncSession, session_id: int) -> list[Question]:
    """Questions sent before the round, not yet posted in its thread."""
    query = (
        select(Question)
        .where(
            Question.session_id == session_id, col(Question.event_id).is_(None), Question.status == QuestionStatus.OPEN
        )
        .order_by(col(Question.number))
    )
    return list((await s.exec(query)).all())


async def question_by_number(s: AsyncSession, session_id: int, number: int) -> Question | None:
    query = select(Question).where(Question.session_id == session_id, Question.number == number)
    return (await s.exec(query)).first()


async def question_by_event(s: AsyncSession, event_id: str) -> Question | None:
    return (await s.exec(select(Question).where(Question.event_id == event_id))).first()


async def add_vote(s: AsyncSession, vote: Vote) -> bool:
    """Count a vote; False when this person had voted for the question already."""
    return await add_once(s, vote, Vote.question_id == vote.question_id, Vote.user_id == vote.user_id)


async def vote_by_reaction(s: AsyncSession, reaction_event_id: str) -> Vote | None:
    return (await s.exec(select(Vote).where(Vote.reaction_event_id == reaction_event_id))).first()


async def qa_summary(s: AsyncSession, session_id: int) -> tuple[int, int] | None:
    """(answered, still open) questions of a session whose round has closed; None without one."""
    closed = await s.exec(
        select(QaRound.id).where(QaRound.session_id == session_id, col(QaRound.closed_at).is_not(None))
    )
    if closed.first() is None:
        return None
    counts = dict(
        (
            await s.exec(
                select(Question.status, func.count(col(Question.id)))
                .where(Question.session_id == session_id)
                .group_by(Question.status)
            )
        ).all()
    )
    return counts.get(QuestionStatus.ANSWERED, 0), counts.get(QuestionStatus.OPEN, 0)


async def add_question(s: AsyncSession, question: Question) -> Question:
    """Save a new question with the next number of its session (numbers are given out under the
    session's lock, so two questions at the same moment never get the same one)."""
    await lock_session(s, question.session_id)
    question.number = await next_question_number(s, question.session_id)
    return await save(s, question)


async def record_posts(s: AsyncSession, round_: QaRound, posted: dict[int, str]) -> None:
    """Questions posted into `round_`'s thread: by question id, the event people vote on."""
    for question_id, event_id in posted.items():
        question = await s.get(Question, question_id)
        if question is not None:
            question.event_id, question.round_id = event_id, round_.id
            await save(s, question)


async def _round_open(s: AsyncSession, question: Question | None) -> bool:
    round_ = await s.get(QaRound, question.round_id) if question and question.round_id else None
    return round_ is not None and round_.closed_at is None


async def count_vote(s: AsyncSession, question: Question, vote: Vote) -> bool:
    """Count a 👍 on a question of an open round, once per person; True when it counted.

    The asker's own 👍 counts like anyone's, on every question: the number shown is then always
    the number of 👍 everyone sees under the question, so no difference between the two can
    point to who asked an anonymous question."""
    if not await _round_open(s, question):
        return False
    return await add_vote(s, vote)


async def withdraw_vote(s: AsyncSession, vote: Vote) -> bool:
    """Take back a vote whose reaction was removed, while the round is open; True when it was."""
    if not await _round_open(s, await s.get(Question, vote.question_id)):
        return False
    await delete(s, vote)
    return True
