"""Live Q&A in a thread: rounds, questions (also before the session and anonymously), votes by 👍,
moderation and the closing digest."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.arguments import Flag, Number, Rest, SessionRef
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from rules import qa_digest
from rules.cleaning import clean
from rules.errors import UserError
from rules.reactions import VOTES
from rules.sessions import about, ref
from rules.states import QuestionStatus, SessionStatus
from storage import people, qa, sessions
from storage.models import QaRound, Question, Session, Vote
from storage.rows import row_id, save

router = Router("qa")
# A session counts as running this long before its start and after its end.
RUNNING_MARGIN = timedelta(minutes=30)
MAX_QUESTION = 2000
# Reactions that count as a vote (with and without skin tones).
NOTED = "📝"


def asker(ctx: Context, question: Question) -> str:
    """How a question's author is shown: never for anonymous questions."""
    if question.anonymous:
        return ctx.t("qa.anonymous").plain
    return clean(ctx.rooms.display_name(ctx.room_id, question.author) or "") or question.author


async def running_session(ctx: Context, s: AsyncSession, number: int | None) -> Session:
    """The session named, or the one under way (preferably announced in this room)."""
    if number is not None:
        return await ctx.find_session(s, number)
    running = await sessions.running_sessions(s, ctx.now, RUNNING_MARGIN, ctx.scope())
    here = [x for x in running if x.room_id == ctx.room_id] or running
    if len(here) != 1:
        raise UserError("qa.which_session")
    return here[0]


async def current_round(ctx: Context, s: AsyncSession, number: int | None, only_open: bool) -> QaRound:
    """The round a moderator means: of the thread the command is in, of session #N, or the latest
    (open) round in this room."""
    found = None
    if number is not None:  # the role first: nobody learns about other rooms' rounds
        ctx.require(Role.MODERATOR, await ctx.find_session(s, number))
        found = await qa.latest_round(s, session_id=number, only_open=only_open)
    elif ctx.thread_root:
        found = await qa.round_by_root(s, ctx.thread_root)
    if found is None and number is None:
        found = await qa.latest_round(s, room_id=ctx.room_id, only_open=only_open)
    if found is None or (only_open and found.closed_at is not None):
        raise UserError("qa.no_round")
    return found


def in_thread(round_: QaRound) -> dict[str, str | None]:
    """Where a post into the round's thread goes: its root event, or (not yet posted) the root's
    outbox message."""
    if round_.root_event_id:
        return {"thread_root": round_.root_event_id}
    return {"thread_of": root_key(round_)}


def root_key(round_: QaRound) -> str:
    return f"qa-root:{round_.id}:{round_.opened_at.timestamp()}"


def post_questions(ctx: Context, round_: QaRound, questions: list[Question]) -> None:
    """Post questions sent before the round (or by direct message) into the round's thread; each
    post's event is noted on its question (people vote on it)."""
    for question in questions:
        question.round_id = round_.id
        message = ctx.t("qa.posted", number=question.number, text=question.text, asker=asker(ctx, question))
        ctx.post(round_.room_id, message, records=f"question:{question.id}", **in_thread(round_))


@router.command(
    "fragerunde start",
    aliases=("qa start",),
    help="help.qa_start",
    role=Role.MODERATOR,
    args=[SessionRef(required=False)],
)
async def start_round(ctx: Context, number: int | None) -> None:
    async with ctx.join_batch() as s:
        session = await running_session(ctx, s, number)
        ctx.require(Role.MODERATOR, session)
        if session.status == SessionStatus.CANCELLED:
            raise UserError("errors.session_cancelled", **about(session))
        await sessions.lock_session(s, session.number)
        if await qa.open_round(s, session.number):
            raise UserError("qa.already_open", ref=ref(session.id))
        round_ = await save(
            s, QaRound(session_id=session.number, room_id=session.room_id, opened_by=ctx.sender, opened_at=ctx.now)
        )
        ctx.post(
            session.room_id, ctx.t("qa.root", **about(session)), key=root_key(round_), records=f"qa_round:{round_.id}"
        )
        waiting = await qa.waiting_questions(s, session.number)
        post_questions(ctx, round_, waiting)
        for question in waiting:
            await save(s, question)
    ctx.plans.changed(session.number)
    await ctx.reply("qa.started", **about(session), waiting=len(waiting))


@router.command(
    "fragerunde ende",
    aliases=("qa ende", "qa end"),
    help="help.qa_end",
    role=Role.MODERATOR,
    args=[SessionRef(required=False)],
)
async def end_round(ctx: Context, number: int | None) -> None:
    async with ctx.join_batch() as s:
        round_, session, entries = await round_questions(ctx, s, number, only_open=True)
        message, markdown = qa_digest.digest(ctx, ref(session.id), session.title, entries)
        round_.closed_at, round_.digest = ctx.now, markdown
        await save(s, round_)
    ctx.post(round_.room_id, message, **in_thread(round_))
    ctx.send_file(
        markdown.encode(), f"fragerunde-{session.id}.md", "text/markdown", room_id=round_.room_id, **in_thread(round_)
    )
    await ctx.reply("qa.ended", ref=ref(session.id), count=len(entries))


async def round_questions(
    ctx: Context, s: AsyncSession, number: int | None, only_open: bool
) -> tuple[QaRound, Session, list[qa_digest.Entry]]:
    """The round a moderator means, its session (the moderator's role checked there), its questions."""
    round_ = await current_round(ctx, s, number, only_open)
    session = await ctx.find_session(s, round_.session_id)
    ctx.require(Role.MODERATOR, session)
    return round_, session, [entry(ctx, q) for q in await qa.questions(s, round_.session_id)]


def entry(ctx: Context, item: qa.QuestionVotes) -> qa_digest.Entry:
    question = item.question
    return qa_digest.Entry(question.number, question.text, item.votes, question.status, asker(ctx, question))


@router.thread_message(on=qa.round_by_root)
async def question_in_thread(ctx: Context, round_: QaRound, text: str) -> None:
    """A message in a round's thread is a question; in a closed round's thread it gets a short note."""
    if round_.closed_at is not None:
        raise UserError("qa.closed")
    text = clean(text)
    if not text.strip():
        return
    if len(text) > MAX_QUESTION:
        raise UserError("qa.too_long", maximum=MAX_QUESTION)
    async with ctx.join_batch() as s:
        await qa.add_question(
            s,
            Question(
                session_id=round_.session_id,
                round_id=round_.id,
                number=0,
                author=ctx.sender,
                text=" ".join(text.split()),
                asked_at=ctx.now,
                event_id=ctx.event_id,
            ),
        )
    ctx.react(ctx.event_id, NOTED)


@router.command(
    "frage",
    aliases=("question",),
    help="help.question",
    args=[
        Flag("anonymous", "args.anonymous", words=("anonym", "anonymous")),
        SessionRef(),
        Rest("text", "args.question", missing="qa.text_missing", maximum=MAX_QUESTION, too_long="qa.too_long"),
    ],
)
async def ask(ctx: Context, anonymous: bool, number: int, text: str) -> None:
    if anonymous and ctx.rooms.member_count(ctx.room_id) > 2:
        raise UserError("qa.anonymous_only_direct")
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, number)
        if session.status == SessionStatus.CANCELLED:
            raise UserError("errors.session_cancelled", **about(session))
        if session.ends_at <= ctx.now:
            raise UserError("qa.session_over", **about(session))
        question = await qa.add_question(
            s,
            Question(
                session_id=session.number,
                number=0,
                author=ctx.sender,
                anonymous=anonymous,
                text=" ".join(text.split()),
                asked_at=ctx.now,
            ),
        )
        round_ = await qa.open_round(s, session.number)
        if round_ is not None:
            post_questions(ctx, round_, [question])
            await save(s, question)
    key = "qa.asked_live" if round_ else "qa.asked_before"
    await ctx.reply(key, number=question.number, **about(session))


@router.command(
    "fragen", aliases=("questions",), help="help.questions", role=Role.MODERATOR, args=[SessionRef(required=False)]
)
async def list_questions(ctx: Context, number: int | None) -> None:
    async with ctx.join_batch() as s:
        _, _, entries = await round_questions(ctx, s, number, only_open=False)
    await ctx.reply(qa_digest.ranking(ctx, entries))


async def moderate(ctx: Context, number: int, status: QuestionStatus) -> tuple[Session, Question]:
    """Set a question's status (answered or hidden) by its number in the current round's session."""
    async with ctx.join_batch() as s:
        round_ = await current_round(ctx, s, None, only_open=False)
        session = await ctx.find_session(s, round_.session_id)
        ctx.require(Role.MODERATOR, session)
        question = await qa.question_by_number(s, round_.session_id, number)
        if question is None:
            raise UserError("qa.unknown_question", number=number)
        question.status = status
        question.answered_at = ctx.now if status == QuestionStatus.ANSWERED else question.answered_at
        await save(s, question)
    return session, question


@router.command(
    "beantwortet", aliases=("answered",), help="help.answered", role=Role.MODERATOR, args=[Number("question")]
)
async def answered(ctx: Context, question: int) -> None:
    session, found = await moderate(ctx, question, QuestionStatus.ANSWERED)
    await ctx.reply("qa.marked_answered", number=found.number)
    if found.author not in (ctx.sender, people.FORGOTTEN):  # a deleted author has no one to tell
        ctx.tell(
            found.author, ctx.t("qa.your_question_answered", number=found.number, **about(session), text=found.text)
        )


@router.command("verbergen", aliases=("hide",), help="help.hide", role=Role.MODERATOR, args=[Number("question")])
async def hide(ctx: Context, question: int) -> None:
    _, found = await moderate(ctx, question, QuestionStatus.HIDDEN)
    await ctx.reply("qa.marked_hidden", number=found.number)


@router.reaction(VOTES, on=qa.question_by_event)
async def vote(ctx: Context, question: Question) -> None:
    """A 👍 on a question of an open round counts once per person, the asker's own too (silently):
    the count then matches the reactions everyone sees, and gives no anonymous asker away."""
    async with ctx.join_batch() as s:
        await qa.count_vote(
            s,
            question,
            Vote(question_id=row_id(question), user_id=ctx.sender, reaction_event_id=ctx.event_id, voted_at=ctx.now),
        )


@router.redaction(on=qa.vote_by_reaction)
async def withdraw_vote(ctx: Context, found: Vote) -> None:
    """Taking the 👍 back withdraws the vote while the round is open (silently)."""
    if found.user_id == ctx.sender:
        async with ctx.join_batch() as s:
            await qa.withdraw_vote(s, found)
