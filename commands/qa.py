"""Live Q&A in chat: `!fragerunde start|ende`, questions in the round's thread or with `!frage`
(also anonymously by direct message), 👍 votes, `!fragen`, `!beantwortet`, `!verbergen`. The use
cases are `services.qa`."""

from __future__ import annotations

from bot.context import Context
from rules import qa_digest
from rules.sessions import about, ref
from rules.states import QuestionStatus
from services import qa
from storage.models import QaRound, Question, Vote

NOTED = "📝"  # the bot's reaction on a question taken from the thread


async def start_round(ctx: Context, number: int | None) -> None:
    async with ctx.join_batch() as s:
        started = await qa.start_round(ctx, s, number)
    await ctx.reply("qa.started", **about(started.session), waiting=started.waiting)


async def end_round(ctx: Context, number: int | None) -> None:
    async with ctx.join_batch() as s:
        ended = await qa.end_round(ctx, s, number, ctx.thread_root)
    await ctx.reply("qa.ended", ref=ref(ended.session.id), count=ended.questions)


async def question_in_thread(ctx: Context, round_: QaRound, text: str) -> None:
    """A message in a round's thread is a question; in a closed round's thread it gets a short note."""
    async with ctx.join_batch() as s:
        question = await qa.ask_in_round(ctx, s, round_, text)
    if question is not None:
        ctx.react(ctx.event_id, NOTED)


async def ask(ctx: Context, anonymous: bool, number: int, text: str) -> None:
    async with ctx.join_batch() as s:
        asked = await qa.ask(ctx, s, number, text, anonymous=anonymous)
    key = "qa.asked_live" if asked.live else "qa.asked_before"
    await ctx.reply(key, number=asked.number, **about(asked.session))


async def list_questions(ctx: Context, number: int | None) -> None:
    async with ctx.join_batch() as s:
        entries = await qa.ranking(ctx, s, number, ctx.thread_root)
    await ctx.reply(qa_digest.ranking(ctx, entries))


async def answered(ctx: Context, question: int) -> None:
    async with ctx.join_batch() as s:
        done = await qa.moderate(ctx, s, question, QuestionStatus.ANSWERED, ctx.thread_root)
    await ctx.reply("qa.marked_answered", number=done.question.number)


async def hide(ctx: Context, question: int) -> None:
    async with ctx.join_batch() as s:
        done = await qa.moderate(ctx, s, question, QuestionStatus.HIDDEN, ctx.thread_root)
    await ctx.reply("qa.marked_hidden", number=done.question.number)


async def vote(ctx: Context, question: Question) -> None:
    """A 👍 on a question of an open round counts once per person (silently)."""
    async with ctx.join_batch() as s:
        await qa.vote(ctx, s, question.session_id, question.number, reaction=ctx.event_id)


async def withdraw_vote(ctx: Context, found: Vote) -> None:
    """Taking the 👍 back withdraws the vote while the round is open (silently)."""
    async with ctx.join_batch() as s:
        await qa.withdraw_vote(ctx, s, found)
