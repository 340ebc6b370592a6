"""Live Q&A in a thread: rounds, questions (also before the session and anonymously), votes by 👍,
moderation and the closing digest."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import message_content, transaction_id
from bot.dispatch import Context, Router
from bot.roles import Role
from commands import qa_digest
from commands.errors import UserError
from commands.sessions import find_session, parse_ref, require_ref
from storage import repo
from storage.models import QaRound, Question, QuestionStatus, Session, SessionStatus, Vote

router = Router("qa")
# A session counts as running this long before its start and after its end.
RUNNING_MARGIN = timedelta(minutes=30)
MAX_QUESTION = 2000
# Reactions that count as a vote (with and without skin tones).
VOTES = frozenset({"👍", "👍️", *(f"👍{tone}" for tone in "🏻🏼🏽🏾🏿")})
NOTED = "📝"


def thread(root: str) -> dict[str, object]:
    """`m.relates_to` of a message inside the thread `root`."""
    return {"rel_type": "m.thread", "event_id": root, "is_falling_back": True, "m.in_reply_to": {"event_id": root}}


def asker(ctx: Context, question: Question) -> str:
    """How a question's author is shown: never for anonymous questions."""
    if question.anonymous:
        return ctx.t("qa.anonymous").plain
    return ctx.outbox.display_name(ctx.room_id, question.author) or question.author


async def running_session(ctx: Context, s: AsyncSession, number: int | None) -> Session:
    """The session named, or the one under way (preferably announced in this room)."""
    if number is not None:
        return await find_session(s, number)
    running = await repo.running_sessions(s, ctx.now, RUNNING_MARGIN)
    here = [x for x in running if x.room_id == ctx.room_id] or running
    if len(here) != 1:
        raise UserError("qa.which_session")
    return here[0]


async def current_round(ctx: Context, s: AsyncSession, number: int | None, only_open: bool) -> QaRound:
    """The round a moderator means: of the thread the command is in, of session #N, or the latest
    (open) round in this room."""
    found = None
    if number is not None:  # the role first: nobody learns about other rooms' rounds
        ctx.require(Role.MODERATOR, await find_session(s, number))
        found = await repo.latest_round(s, session_id=number, only_open=only_open)
    elif ctx.thread_root:
        found = await repo.round_by_root(s, ctx.thread_root)
    if found is None and number is None:
        found = await repo.latest_round(s, room_id=ctx.room_id, only_open=only_open)
    if found is None or (only_open and found.closed_at is not None):
        raise UserError("qa.no_round")
    return found


async def post_question(ctx: Context, round_: QaRound, question: Question) -> None:
    """Post a question sent before the round (or by direct message) into the round's thread."""
    assert round_.root_event_id is not None
    message = ctx.t("qa.posted", number=question.number, text=question.text, asker=asker(ctx, question))
    content = message_content(message, notice=False)
    content["m.relates_to"] = thread(round_.root_event_id)
    question.event_id = await ctx.outbox.send(round_.room_id, content, transaction_id("question", str(question.id)))
    question.round_id = round_.id


@router.command("fragerunde start", aliases=("qa start",), help="help.qa_start", role=Role.MODERATOR)
async def start_round(ctx: Context, args: str) -> None:
    number, _ = parse_ref(args)
    async with ctx.db.transaction() as s:
        session = await running_session(ctx, s, number)
        ctx.require(Role.MODERATOR, session)
        if session.status == SessionStatus.CANCELLED:
            raise UserError("errors.session_cancelled", ref=f"#{session.id}", title=session.title)
        if await repo.open_round(s, session.id):
            raise UserError("qa.already_open", ref=f"#{session.id}")
        round_ = QaRound(session_id=session.id, room_id=session.room_id, opened_by=ctx.sender, opened_at=ctx.now)
        await repo.save_row(s, round_)
        root = ctx.t("qa.root", ref=f"#{session.id}", title=session.title)
        round_.root_event_id = await ctx.outbox.send(session.room_id, message_content(root, notice=False),
                                                     transaction_id("qa-root", ctx.event_id))
        waiting = await repo.waiting_questions(s, session.id)
        for question in waiting:
            await post_question(ctx, round_, question)
    await ctx.reply("qa.started", ref=f"#{session.id}", title=session.title, waiting=len(waiting))


@router.command("fragerunde ende", aliases=("qa ende", "qa end"), help="help.qa_end", role=Role.MODERATOR)
async def end_round(ctx: Context, args: str) -> None:
    number, _ = parse_ref(args)
    async with ctx.db.transaction() as s:
        round_, session, entries = await round_questions(ctx, s, number, only_open=True)
        message, markdown = qa_digest.digest(ctx, f"#{session.id}", session.title, entries)
        round_.closed_at, round_.digest = ctx.now, markdown
        await repo.save_row(s, round_)
    assert round_.root_event_id is not None
    content = message_content(message, notice=False)
    content["m.relates_to"] = thread(round_.root_event_id)
    await ctx.outbox.send(round_.room_id, content, transaction_id("digest", ctx.event_id))
    where = await ctx.outbox.upload(round_.room_id, markdown.encode(), "text/markdown", f"fragerunde-{session.id}.md")
    file_content = {"msgtype": "m.file", "body": f"fragerunde-{session.id}.md", "filename": f"fragerunde-{session.id}.md",
                    **where, "info": {"mimetype": "text/markdown", "size": len(markdown.encode())},
                    "m.mentions": {}, "m.relates_to": thread(round_.root_event_id)}
    await ctx.outbox.send(round_.room_id, file_content, transaction_id("digest-file", ctx.event_id))
    await ctx.reply("qa.ended", ref=f"#{session.id}", count=len(entries))


async def round_questions(ctx: Context, s: AsyncSession, number: int | None,
                          only_open: bool) -> tuple[QaRound, Session, list[qa_digest.Entry]]:
    """The round a moderator means, its session (the moderator's role checked there), its questions."""
    round_ = await current_round(ctx, s, number, only_open)
    session = await find_session(s, round_.session_id)
    ctx.require(Role.MODERATOR, session)
    return round_, session, [entry(ctx, q) for q in await repo.questions(s, session.id)]


def entry(ctx: Context, item: repo.QuestionVotes) -> qa_digest.Entry:
    question = item.question
    return qa_digest.Entry(question.number, question.text, item.votes, question.status, asker(ctx, question))


@router.thread_message()
async def question_in_thread(ctx: Context, text: str) -> bool:
    """A message in a round's thread is a question; in a closed round's thread it gets a short note."""
    assert ctx.thread_root is not None
    async with ctx.db.transaction() as s:
        round_ = await repo.round_by_root(s, ctx.thread_root)
        if round_ is None:
            return False
        if round_.closed_at is not None:
            raise UserError("qa.closed")
        if not text:
            return False
        if len(text) > MAX_QUESTION:
            raise UserError("qa.too_long", maximum=MAX_QUESTION)
        question = Question(session_id=round_.session_id, round_id=round_.id,
                            number=await repo.next_question_number(s, round_.session_id), author=ctx.sender,
                            text=" ".join(text.split()), asked_at=ctx.now, event_id=ctx.event_id)
        await repo.save_row(s, question)
    await ctx.outbox.react(ctx.room_id, ctx.event_id, NOTED, transaction_id("noted", ctx.event_id))
    return True


@router.command("frage", aliases=("question",), help="help.question")
async def ask(ctx: Context, args: str) -> None:
    anonymous = args.split(None, 1)[:1] == ["anonym"] or args.split(None, 1)[:1] == ["anonymous"]
    if anonymous:
        args = args.split(None, 1)[1] if len(args.split(None, 1)) > 1 else ""
        if ctx.outbox.member_count(ctx.room_id) > 2:
            raise UserError("qa.anonymous_only_direct")
    number, text = require_ref(args, f"{ctx.prefix}frage #N Ihre Frage")
    if not text:
        raise UserError("qa.text_missing")
    if len(text) > MAX_QUESTION:
        raise UserError("qa.too_long", maximum=MAX_QUESTION)
    async with ctx.db.transaction() as s:
        session = await find_session(s, number)
        if session.status == SessionStatus.CANCELLED:
            raise UserError("errors.session_cancelled", ref=f"#{session.id}", title=session.title)
        if session.ends_at <= ctx.now:
            raise UserError("qa.session_over", ref=f"#{session.id}", title=session.title)
        question = Question(session_id=session.id, number=await repo.next_question_number(s, session.id),
                            author=ctx.sender, anonymous=anonymous, text=" ".join(text.split()), asked_at=ctx.now)
        await repo.save_row(s, question)
        round_ = await repo.open_round(s, session.id)
        if round_ is not None:
            await post_question(ctx, round_, question)
    key = "qa.asked_live" if round_ else "qa.asked_before"
    await ctx.reply(key, number=question.number, ref=f"#{session.id}", title=session.title)


@router.command("fragen", aliases=("questions",), help="help.questions", role=Role.MODERATOR)
async def list_questions(ctx: Context, args: str) -> None:
    number, _ = parse_ref(args)
    async with ctx.db.transaction() as s:
        _, _, entries = await round_questions(ctx, s, number, only_open=False)
    await ctx.reply(qa_digest.ranking(ctx, entries))


async def moderate(ctx: Context, args: str, status: QuestionStatus) -> tuple[Session, Question]:
    """Set a question's status (answered or hidden) by its number in the current round's session."""
    number, _ = require_ref(args, f"{ctx.prefix}beantwortet 3")
    async with ctx.db.transaction() as s:
        round_ = await current_round(ctx, s, None, only_open=False)
        session = await find_session(s, round_.session_id)
        ctx.require(Role.MODERATOR, session)
        question = await repo.question_by_number(s, session.id, number)
        if question is None:
            raise UserError("qa.unknown_question", number=number)
        question.status = status
        question.answered_at = ctx.now if status == QuestionStatus.ANSWERED else question.answered_at
        await repo.save_row(s, question)
    return session, question


@router.command("beantwortet", aliases=("answered",), help="help.answered", role=Role.MODERATOR)
async def answered(ctx: Context, args: str) -> None:
    session, question = await moderate(ctx, args, QuestionStatus.ANSWERED)
    await ctx.reply("qa.marked_answered", number=question.number)
    if question.author != ctx.sender:
        direct = await ctx.outbox.direct_room(question.author)
        message = ctx.t("qa.your_question_answered", number=question.number, ref=f"#{session.id}",
                        title=session.title, text=question.text)
        await ctx.outbox.send(direct, message_content(message), transaction_id("answered", ctx.event_id))


@router.command("verbergen", aliases=("hide",), help="help.hide", role=Role.MODERATOR)
async def hide(ctx: Context, args: str) -> None:
    _, question = await moderate(ctx, args, QuestionStatus.HIDDEN)
    await ctx.reply("qa.marked_hidden", number=question.number)


async def vote(s: AsyncSession, question: Question, voter: str, reaction_event_id: str, now: datetime) -> bool:
    """Count a 👍 on a question of an open round (not one's own); True when it counted."""
    if question.author == voter or question.round_id is None:
        return False
    round_ = await s.get(QaRound, question.round_id)
    if round_ is None or round_.closed_at is not None:
        return False
    return await repo.add_vote(s, Vote(question_id=question.id, user_id=voter, reaction_event_id=reaction_event_id,
                                       voted_at=now))


async def unvote(s: AsyncSession, reaction_event_id: str, voter: str) -> bool:
    """Take back a vote whose reaction was removed (while the round is open)."""
    found = await repo.vote_by_reaction(s, reaction_event_id)
    if found is None or found.user_id != voter:
        return False
    question = await s.get(Question, found.question_id)
    round_ = await s.get(QaRound, question.round_id) if question and question.round_id else None
    if round_ is None or round_.closed_at is not None:
        return False
    await repo.delete_row(s, found)
    return True

