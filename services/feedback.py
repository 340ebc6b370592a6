"""Feedback on a past session: a rating 1–5 and one sentence, given by those registered, stored
under a keyed hash instead of the person (nobody can tell from the database who said what); the
question asked again; the evaluation for coordinators (totals published in steps)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.roles import Role
from rules.errors import UserError
from rules.feedback import Answer, Totals, respondent
from rules.sessions import about, ref
from rules.states import SessionStatus
from storage import feedback, planned, registrations
from storage.models import PlannedMessage, Session


@dataclass(frozen=True)
class Evaluation:
    """What a coordinator sees of a session's feedback: how many answered, the published totals
    and their sentences (None and none before the first step), and how many answers given or
    changed since wait for the next step."""

    session: Session
    answers: int
    totals: Totals | None
    sentences: list[str]
    pending: int


def respondent_of(act: Acting, session_id: int) -> str:
    """The sender's keyed hash for a session (the key derives from the bot's secret store key)."""
    return respondent(act.config.matrix.store_key, session_id, act.sender)


async def answerable(act: Acting, s: AsyncSession, number: int) -> Session:
    """Session #number, if it has ended and the sender was registered for it."""
    session = await act.find_session(s, number)
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", **about(session))
    if session.ends_at > act.now:
        raise UserError("feedback.not_yet", **about(session))
    if act.sender not in await registrations.registered_user_ids(s, number):
        raise UserError("feedback.not_registered", **about(session))
    return session


async def give_feedback(act: Acting, s: AsyncSession, number: int, answer: Answer) -> Session:
    """Store the sender's answer for session #N (replacing an earlier one), only where nobody else
    reads along: a direct message, or a form."""
    if act.room_id and act.rooms.member_count(act.room_id) > 2:
        raise UserError("feedback.only_direct", ref=ref(number))
    session = await answerable(act, s, number)
    await feedback.save_answer(s, number, respondent_of(act, number), answer, keep_sentence=False)
    return session


async def answer_question(
    act: Acting, s: AsyncSession, question: PlannedMessage, answer: Answer, *, keep_sentence: bool = False
) -> Session | None:
    """Store an answer to the feedback question `question` (only its addressee may answer it;
    None for anyone else); `keep_sentence`: an earlier sentence stays (a digit changes the rating)."""
    if question.user_id != act.sender or question.session_id is None:
        return None
    session = await act.find_session(s, question.session_id)
    await feedback.save_answer(s, session.number, respondent_of(act, session.number), answer, keep_sentence)
    return session


async def ask_again(act: Acting, s: AsyncSession, number: int) -> Session:
    """Send the sender the feedback question for session #N again, privately."""
    session = await answerable(act, s, number)
    await planned.plan_feedback_questions(s, session, [act.sender], act.now)
    act.plans.changed(number)
    return session


async def evaluate(act: Acting, s: AsyncSession, number: int) -> Evaluation:
    """Session #N's feedback, for a coordinator of its room."""
    session = await act.find_session(s, number)
    act.require(Role.COORDINATOR, session)
    totals = await feedback.feedback_totals(s, number)
    if totals is None:
        return Evaluation(session, await feedback.answer_count(s, number), None, [], 0)
    return Evaluation(
        session,
        await feedback.answer_count(s, number),
        totals,
        await feedback.published_sentences(s, number),
        await feedback.unpublished_count(s, number),
    )
