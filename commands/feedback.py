"""Feedback in chat: the question by direct message (planned, see `storage.planned`) answered by a
reply or a digit reaction, or `!feedback #N [Bewertung Satz]`; `!auswertung #N` for coordinators,
by direct message. The use cases are `services.feedback`.

An answer leaves no trace that ties it to the person and a time: its event is not recorded as
handled, and the thank-you's outbox row is deleted once sent."""

from __future__ import annotations

import random
from dataclasses import replace

from bot.context import Context
from rules.feedback import Answer, evaluation, parse_answer
from rules.sessions import about, ref
from services import feedback
from storage.models import PlannedMessage, Session
from storage.outbox import FORGET

_shuffle = random.SystemRandom()


async def thank(ctx: Context, session: Session) -> None:
    """Confirm an answer (never repeating it); the thank-you's outbox row is deleted once sent,
    since its time and direct chat would tell when this person answered."""
    queued = len(ctx.messages)
    await ctx.reply("feedback.thanks", **about(session))
    ctx.messages[queued:] = [(replace(message, records=FORGET), until) for message, until in ctx.messages[queued:]]


async def give_feedback(ctx: Context, number: int, answer: str) -> None:
    """`!feedback #N`: the question again, privately; `!feedback #N 4 Satz` (privately): the answer."""
    if not answer:
        async with ctx.join_batch() as s:
            session = await feedback.ask_again(ctx, s, number)
        await ctx.reply("feedback.asked", **about(session))
        return
    ctx.record_handled = False
    parsed = parse_answer(answer)
    async with ctx.join_batch() as s:
        session = await feedback.give_feedback(ctx, s, number, parsed)
    await thank(ctx, session)


async def answer_question(ctx: Context, question: PlannedMessage, answer: Answer, keep_sentence: bool) -> None:
    """Store an answer to the feedback question `question` (only its addressee may answer it)."""
    async with ctx.join_batch() as s:
        session = await feedback.answer_question(ctx, s, question, answer, keep_sentence=keep_sentence)
    if session is not None:
        await thank(ctx, session)


async def reply_to_question(ctx: Context, question: PlannedMessage, text: str) -> None:
    """A reply to the question: a rating and maybe a sentence, replacing an earlier answer."""
    if question.user_id == ctx.sender:
        ctx.record_handled = False
        await answer_question(ctx, question, parse_answer(text), keep_sentence=False)


async def feedback_rating(ctx: Context, question: PlannedMessage, *, rating: int) -> None:
    """A digit reaction on the question: the rating (an earlier sentence stays). Each digit is a
    route of its own (`rating` bound to it) under this one name, so neither the log nor the metrics
    tell which digit it was."""
    ctx.record_handled = False
    await answer_question(ctx, question, Answer(rating, None), keep_sentence=True)


async def evaluate(ctx: Context, number: int) -> None:
    """Number of answers, the published totals and their sentences in random order, privately."""
    async with ctx.join_batch() as s:
        found = await feedback.evaluate(ctx, s, number)
    session = found.session
    ctx.tell(
        ctx.sender,
        evaluation(
            ctx, ref(number), session.title, found.answers, found.totals, found.sentences, _shuffle, found.pending
        ),
    )
    await ctx.reply("feedback.evaluation_sent", **about(session), count=found.answers)
