"""Feedback after a session: the question by direct message (planned, see `storage.planned`),
answered by a reply or a digit reaction, or with `!feedback #N`; stored anonymously (a keyed hash
instead of the person); `!auswertung #N` for coordinators, by direct message."""

from __future__ import annotations

import random

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.arguments import Rest, SessionRef
from bot.context import Context
from bot.roles import Role
from bot.routing import Handler, Router
from rules.errors import UserError
from rules.feedback import DIGIT_KEYS, MAX_SENTENCE, RATINGS, Answer, evaluation, parse_answer
from rules.sessions import about, ref
from rules.states import SessionStatus
from services.feedback import respondent_of
from storage import feedback, planned, registrations
from storage.models import PlannedMessage, Session

router = Router("feedback")
_shuffle = random.SystemRandom()


async def answerable(ctx: Context, s: AsyncSession, number: int) -> Session:
    """Session #number, if it has ended and the sender was registered for it."""
    session = await ctx.find_session(s, number)
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", **about(session))
    if session.ends_at > ctx.now:
        raise UserError("feedback.not_yet", **about(session))
    if ctx.sender not in await registrations.registered_user_ids(s, number):
        raise UserError("feedback.not_registered", **about(session))
    return session


@router.command(
    "feedback",
    aliases=("rückmeldung", "rueckmeldung"),
    help="help.feedback",
    args=[SessionRef(), Rest("answer", "args.feedback", required=False, maximum=MAX_SENTENCE + 10)],
)
async def give_feedback(ctx: Context, number: int, answer: str) -> None:
    """`!feedback #N`: the question again, privately; `!feedback #N 4 Satz` (privately): the answer."""
    parsed = parse_answer(answer) if answer else None
    if parsed is not None and ctx.rooms.member_count(ctx.room_id) > 2:
        raise UserError("feedback.only_direct", ref=ref(number))
    async with ctx.join_batch() as s:
        session = await answerable(ctx, s, number)
        if parsed is not None:
            await feedback.save_answer(s, number, respondent_of(ctx, number), parsed, keep_sentence=False)
        else:
            await planned.plan_feedback_questions(s, session, [ctx.sender], ctx.now)
    if parsed is not None:
        await ctx.reply("feedback.thanks", **about(session))
        return
    ctx.plans.changed(number)
    await ctx.reply("feedback.asked", **about(session))


async def answer_question(ctx: Context, question: PlannedMessage, answer: Answer, keep_sentence: bool) -> None:
    """Store an answer to the feedback question `question` (only its addressee may answer it)."""
    if question.user_id != ctx.sender or question.session_id is None:
        return
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, question.session_id)
        await feedback.save_answer(s, session.number, respondent_of(ctx, session.number), answer, keep_sentence)
    # Says nothing of the answer: the confirmation goes to the person, the answer stays unlinked.
    await ctx.reply("feedback.thanks", **about(session))


@router.reply_message(on=planned.feedback_question_by_event)
async def reply_to_question(ctx: Context, question: PlannedMessage, text: str) -> None:
    """A reply to the question: a rating and maybe a sentence, replacing an earlier answer."""
    if question.user_id == ctx.sender:
        await answer_question(ctx, question, parse_answer(text), keep_sentence=False)


def rate_by_reaction(rating: int) -> Handler:
    """The handler for one digit reaction on the question: the rating (an earlier sentence stays)."""

    async def rate(ctx: Context, question: PlannedMessage) -> None:
        await answer_question(ctx, question, Answer(rating, None), keep_sentence=True)

    rate.__name__ = f"feedback_rating_{rating}"
    return rate


for _rating in RATINGS:
    router.reaction({k for k in DIGIT_KEYS if k.startswith(str(_rating))}, on=planned.feedback_question_by_event)(
        rate_by_reaction(_rating)
    )


@router.command(
    "auswertung", aliases=("evaluation",), help="help.evaluation", role=Role.COORDINATOR, args=[SessionRef()]
)
async def evaluate(ctx: Context, number: int) -> None:
    """Number of answers, distribution, average and the sentences in random order, privately."""
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        rows = await feedback.answers(s, number)
    result = feedback.totals_of(rows)
    sentences = [row.text for row in rows if row.text] if result else []
    ctx.tell(ctx.sender, evaluation(ctx, ref(number), session.title, len(rows), result, sentences, _shuffle))
    await ctx.reply("feedback.evaluation_sent", **about(session), count=len(rows))
