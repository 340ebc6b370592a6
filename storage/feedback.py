"""Anonymous feedback answers: stored without the person, under a keyed hash (see
`rules.feedback.respondent`), with a random id and no time; and their totals, published in steps.

Every view (`!auswertung`, the protocol post, the web pages) reads the published totals. The chat
and the protocol post publish them anew when they ask and enough answers were given or changed
since the last publication (`rules.feedback.step_due`); the web pages only read what was last
published. Until a step, a new answer changes nothing anyone sees."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.feedback import RATINGS, Answer, Totals, step_due, totals_of_counts
from storage.models import FeedbackAnswer, FeedbackPublished
from storage.rows import save, upsert

# The keyed hash of one person for a session id (the secret is the caller's).
KeyOf = Callable[[int], str]


async def save_answer(s: AsyncSession, session_id: int, respondent: str, answer: Answer, keep_sentence: bool) -> bool:
    """Store an answer, replacing the person's earlier one (found by the hash); `keep_sentence`
    keeps the earlier sentence (a digit reaction changes only the rating). An answer that differs
    from the earlier one waits for the next published step. True when it is new."""
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
    text = row.text if keep_sentence and answer.sentence is None else answer.sentence
    if new or (row.rating, row.text) != (answer.rating, text):
        row.rating, row.text, row.published = answer.rating, text, False
        await save(s, row)
    return new


async def answers(s: AsyncSession, session_id: int) -> list[FeedbackAnswer]:
    query = select(FeedbackAnswer).where(FeedbackAnswer.session_id == session_id)
    return list((await s.exec(query)).all())


async def answer_count(s: AsyncSession, session_id: int) -> int:
    query = select(func.count(col(FeedbackAnswer.id))).where(FeedbackAnswer.session_id == session_id)
    return int((await s.exec(query)).one())


async def unpublished_count(s: AsyncSession, session_id: int) -> int:
    """How many answers were given or changed since the totals were published last."""
    return (await _unpublished(s, [session_id])).get(session_id, 0)


async def published_sentences(s: AsyncSession, session_id: int) -> list[str]:
    """The sentences of the answers in the published totals (a changed one waits for the next step)."""
    query = select(FeedbackAnswer.text).where(
        FeedbackAnswer.session_id == session_id, col(FeedbackAnswer.published), col(FeedbackAnswer.text).is_not(None)
    )
    return [text for text in (await s.exec(query)).all() if text]


async def feedback_totals(s: AsyncSession, session_id: int) -> Totals | None:
    """A session's published totals (number of answers, distribution, average), or None before
    the first step."""
    return (await totals_by_session(s, [session_id])).get(session_id)


async def totals_by_session(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, Totals]:
    """The published totals of these sessions (those that have any), publishing anew where a
    step is due (a write: in a write transaction)."""
    for session_id, waiting in (await _unpublished(s, session_ids)).items():
        if step_due(waiting):
            await _publish(s, session_id)
    return await published_totals(s, session_ids)


async def published_totals(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, Totals]:
    """The totals of these sessions as last published, without publishing (a read: the web's)."""
    query = select(FeedbackPublished).where(col(FeedbackPublished.session_id).in_(session_ids))
    found = {row.session_id: totals_of_counts(_counts(row)) for row in (await s.exec(query)).all()}
    return {session_id: result for session_id, result in found.items() if result is not None}


def _counts(row: FeedbackPublished) -> dict[int, int]:
    return {1: row.rated_1, 2: row.rated_2, 3: row.rated_3, 4: row.rated_4, 5: row.rated_5}


async def _unpublished(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, int]:
    query = (
        select(FeedbackAnswer.session_id, func.count(col(FeedbackAnswer.id)))
        .where(col(FeedbackAnswer.session_id).in_(session_ids), col(FeedbackAnswer.published).is_(False))
        .group_by(col(FeedbackAnswer.session_id))
    )
    return {session_id: int(count) for session_id, count in (await s.exec(query)).all()}


async def _publish(s: AsyncSession, session_id: int) -> None:
    """Publish the totals of a session's answers as they are now, and mark them published."""
    query = (
        select(FeedbackAnswer.rating, func.count(col(FeedbackAnswer.id)))
        .where(FeedbackAnswer.session_id == session_id)
        .group_by(col(FeedbackAnswer.rating))
    )
    given = {rating: int(count) for rating, count in (await s.exec(query)).all()}
    counts = {f"rated_{n}": given.get(n, 0) for n in RATINGS}
    await upsert(s, FeedbackPublished, {"session_id": session_id, **counts}, "session_id")
    await s.exec(update(FeedbackAnswer).where(col(FeedbackAnswer.session_id) == session_id).values(published=True))


async def _sessions_answered(s: AsyncSession) -> list[int]:
    return list((await s.exec(select(FeedbackAnswer.session_id).distinct())).all())


async def own_answers(s: AsyncSession, key_of: KeyOf) -> list[FeedbackAnswer]:
    """The answers one person gave, found by computing their hash for every session with answers
    (nothing stored links them to the person)."""
    keys = [key_of(session_id) for session_id in await _sessions_answered(s)]
    if not keys:
        return []
    query = (
        select(FeedbackAnswer).where(col(FeedbackAnswer.respondent).in_(keys)).order_by(col(FeedbackAnswer.session_id))
    )
    return list((await s.exec(query)).all())


async def forget_answers(s: AsyncSession, key_of: KeyOf) -> int:
    """Delete one person's answers (found as in `own_answers`); how many there were."""
    found = [row.id for row in await own_answers(s, key_of)]
    if found:
        await s.exec(delete(FeedbackAnswer).where(col(FeedbackAnswer.id).in_(found)))
    return len(found)
