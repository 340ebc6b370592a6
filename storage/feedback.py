"""Anonymous feedback answers: stored without the person, under a keyed hash (see
`rules.feedback.respondent`), and their totals."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.feedback import Answer, Totals, totals
from storage.models import FeedbackAnswer
from storage.rows import save

# The keyed hash of one person for a session id (the secret is the caller's).
KeyOf = Callable[[int], str]


async def save_answer(s: AsyncSession, session_id: int, respondent: str, answer: Answer, keep_sentence: bool) -> bool:
    """Store an answer, replacing the person's earlier one (found by the hash); `keep_sentence`
    keeps the earlier sentence (a digit reaction changes only the rating). True when it is new."""
    row = (
        await s.exec(
            select(FeedbackAnswer).where(
                FeedbackAnswer.session_id == session_id, FeedbackAnswer.respondent == respondent
            )
        )
    ).first()
    new = row is None
    if row is None:
        row = FeedbackAnswer(session_id=session_id, respondent=respondent, rating=answer.rating)
    row.rating = answer.rating
    if not (keep_sentence and answer.sentence is None):
        row.text = answer.sentence
    await save(s, row)
    return new


async def answers(s: AsyncSession, session_id: int) -> list[FeedbackAnswer]:
    query = select(FeedbackAnswer).where(FeedbackAnswer.session_id == session_id)
    return list((await s.exec(query)).all())


async def answer_count(s: AsyncSession, session_id: int) -> int:
    query = select(func.count(col(FeedbackAnswer.id))).where(FeedbackAnswer.session_id == session_id)
    return int((await s.exec(query)).one())


def totals_of(rows: list[FeedbackAnswer]) -> Totals | None:
    """The totals of these answers (None below the minimum)."""
    return totals(row.rating for row in rows)


async def feedback_totals(s: AsyncSession, session_id: int) -> Totals | None:
    """A session's totals (number of answers, distribution, average), or None below the minimum."""
    return (await totals_by_session(s, [session_id])).get(session_id)


async def totals_by_session(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, Totals]:
    """The totals of these sessions, for those with enough answers to show them."""
    query = select(FeedbackAnswer.session_id, FeedbackAnswer.rating).where(
        col(FeedbackAnswer.session_id).in_(session_ids)
    )
    ratings: dict[int, list[int]] = {}
    for session_id, rating in (await s.exec(query)).all():
        ratings.setdefault(session_id, []).append(rating)
    return {session_id: found for session_id, given in ratings.items() if (found := totals(given)) is not None}


async def _sessions_answered(s: AsyncSession) -> list[int]:
    return list((await s.exec(select(FeedbackAnswer.session_id).distinct())).all())


async def own_answers(s: AsyncSession, key_of: KeyOf) -> list[FeedbackAnswer]:
    """The answers one person gave, found by computing their hash for every session with answers
    (nothing stored links them to the person)."""
    keys = [key_of(session_id) for session_id in await _sessions_answered(s)]
    if not keys:
        return []
    query = select(FeedbackAnswer).where(col(FeedbackAnswer.respondent).in_(keys)).order_by(col(FeedbackAnswer.id))
    return list((await s.exec(query)).all())


async def forget_answers(s: AsyncSession, key_of: KeyOf) -> int:
    """Delete one person's answers (found as in `own_answers`); how many there were."""
    found = [row.id for row in await own_answers(s, key_of)]
    if found:
        await s.exec(delete(FeedbackAnswer).where(col(FeedbackAnswer.id).in_(found)))
    return len(found)
