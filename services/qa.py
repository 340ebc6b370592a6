"""Live Q&A: a moderator opens and closes a session's round (a thread in its room, closed with a
ranked digest); people ask questions (in the thread, before the session, also anonymously by
direct message) and vote for them; moderators rank them and mark them answered or hidden."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.roles import Role
from rules import qa_digest
from rules.cleaning import one_line, person_name
from rules.errors import UserError
from rules.qa_digest import MAX_QUESTION
from rules.sessions import about, ref
from rules.states import QuestionStatus, SessionStatus
from storage import people, qa, sessions
from storage.models import QaRound, Question, Session, Vote
from storage.rows import row_id, save

# A session counts as running this long before its start and after its end.
RUNNING_MARGIN = timedelta(minutes=30)
MAX_QUESTIONS = 10  # questions one person may ask for a round (before it and in it)


@dataclass(frozen=True)
class RoundStarted:
    session: Session
    waiting: int  # questions sent before, now posted into the thread


@dataclass(frozen=True)
class RoundEnded:
    session: Session
    questions: int


@dataclass(frozen=True)
class Asked:
    session: Session
    number: int
    live: bool  # posted into an open round (else it waits for the round)


@dataclass(frozen=True)
class Moderated:
    session: Session
    question: Question


def asker(act: Acting, question: Question, room_id: str) -> str:
    """How a question's author is shown (by the name they have in the session's room `room_id`):
    never for anonymous questions, and a name that could pass for "anonym" or for someone else's
    id with the real id."""
    if question.anonymous:
        return act.t("qa.anonymous").plain
    return person_name(act.rooms.display_name(room_id, question.author), question.author)


async def running_session(act: Acting, s: AsyncSession, number: int | None) -> Session:
    """The session named, or the one under way (preferably announced in the room of the request)."""
    if number is not None:
        return await act.find_session(s, number)
    running = await sessions.running_sessions(s, act.now, RUNNING_MARGIN, act.scope())
    here = [x for x in running if x.room_id == act.room_id] or running
    if len(here) != 1:
        raise UserError("qa.which_session")
    return here[0]


async def current_round(
    act: Acting, s: AsyncSession, number: int | None, only_open: bool, thread_root: str | None
) -> QaRound:
    """The round a moderator means: of session #N, of the thread the request came from, or the
    latest (open) round in its room."""
    found = None
    if number is not None:  # the role first: nobody learns about other rooms' rounds
        act.require(Role.MODERATOR, await act.find_session(s, number))
        found = await qa.latest_round(s, session_id=number, only_open=only_open)
    elif thread_root:
        found = await qa.round_by_root(s, thread_root)
    if found is None and number is None:
        found = await qa.latest_round(s, room_id=act.room_id, only_open=only_open)
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


def post_questions(act: Acting, round_: QaRound, questions: list[Question]) -> None:
    """Post questions sent before the round (or by direct message) into the round's thread; each
    post's event is noted on its question (people vote on it)."""
    for question in questions:
        question.round_id = round_.id
        message = act.t(
            "qa.posted", number=question.number, text=question.text, asker=asker(act, question, round_.room_id)
        )
        act.post(round_.room_id, message, records=f"question:{question.id}", **in_thread(round_))


async def start_round(act: Acting, s: AsyncSession, number: int | None) -> RoundStarted:
    """Open the Q&A round of session #N (or of the one under way): its thread, with the questions
    sent before."""
    session = await running_session(act, s, number)
    act.require(Role.MODERATOR, session)
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", **about(session))
    await sessions.lock_session(s, session.number)
    if await qa.open_round(s, session.number):
        raise UserError("qa.already_open", ref=ref(session.id))
    round_ = await save(
        s, QaRound(session_id=session.number, room_id=session.room_id, opened_by=act.sender, opened_at=act.now)
    )
    act.post(session.room_id, act.t("qa.root", **about(session)), key=root_key(round_), records=f"qa_round:{round_.id}")
    waiting = await qa.waiting_questions(s, session.number)
    post_questions(act, round_, waiting)
    for question in waiting:
        await save(s, question)
    act.plans.changed(session.number)
    return RoundStarted(session, len(waiting))


async def end_round(act: Acting, s: AsyncSession, number: int | None, thread_root: str | None = None) -> RoundEnded:
    """Close the round and post its digest into the thread, also as a Markdown file."""
    round_, session, entries = await round_questions(act, s, number, True, thread_root)
    message, markdown = qa_digest.digest(act, ref(session.id), session.title, entries)
    round_.closed_at, round_.digest = act.now, markdown
    await save(s, round_)
    act.post(round_.room_id, message, **in_thread(round_))
    act.send_file(
        markdown.encode(), f"fragerunde-{session.id}.md", "text/markdown", room_id=round_.room_id, **in_thread(round_)
    )
    return RoundEnded(session, len(entries))


async def ranking(
    act: Acting, s: AsyncSession, number: int | None, thread_root: str | None = None
) -> list[qa_digest.Entry]:
    """The questions of the round a moderator means (open or closed), for the ranking."""
    _, _, entries = await round_questions(act, s, number, False, thread_root)
    return entries


async def round_questions(
    act: Acting, s: AsyncSession, number: int | None, only_open: bool, thread_root: str | None
) -> tuple[QaRound, Session, list[qa_digest.Entry]]:
    """The round a moderator means, its session (the moderator's role checked there), its questions."""
    round_ = await current_round(act, s, number, only_open, thread_root)
    session = await act.find_session(s, round_.session_id)
    act.require(Role.MODERATOR, session)
    return round_, session, [entry(act, q, round_.room_id) for q in await qa.questions(s, round_.session_id)]


def entry(act: Acting, item: qa.QuestionVotes, room_id: str) -> qa_digest.Entry:
    question = item.question
    status = QuestionStatus(question.status)
    return qa_digest.Entry(question.number, question.text, item.votes, status, asker(act, question, room_id))


async def check_question(act: Acting, s: AsyncSession, session_id: int, text: str, round_id: int | None) -> None:
    """Refuse a question (its text on one line) that is too long, or when the sender asked enough
    for this round."""
    if len(text) > MAX_QUESTION:
        raise UserError("qa.too_long", maximum=MAX_QUESTION)
    if await qa.questions_asked(s, session_id, act.sender, round_id) >= MAX_QUESTIONS:
        raise UserError("qa.too_many", maximum=MAX_QUESTIONS)


async def ask_in_round(act: Acting, s: AsyncSession, round_: QaRound, text: str) -> Question | None:
    """A message in a round's thread is a question (its event is what people vote on); None for
    an empty one. A closed round's thread takes no more."""
    if round_.closed_at is not None:
        raise UserError("qa.closed")
    text = one_line(text)
    if not text:
        return None
    await check_question(act, s, round_.session_id, text, round_.id)
    return await qa.add_question(
        s,
        Question(
            session_id=round_.session_id,
            round_id=round_.id,
            number=0,
            author=act.sender,
            text=text,
            asked_at=act.now,
            event_id=act.request_id,
        ),
    )


async def ask(act: Acting, s: AsyncSession, number: int, text: str, *, anonymous: bool = False) -> Asked:
    """A question for session #N, before it or during its round; anonymous only where nobody
    else reads along (a direct message, or a form)."""
    if anonymous and act.room_id and act.rooms.member_count(act.room_id) > 2:
        raise UserError("qa.anonymous_only_direct")
    session = await act.find_session(s, number)
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", **about(session))
    if session.ends_at <= act.now:
        raise UserError("qa.session_over", **about(session))
    text = one_line(text)
    if not text:
        raise UserError("qa.text_missing")
    round_ = await qa.open_round(s, session.number)
    await check_question(act, s, session.number, text, round_.id if round_ else None)
    question = await qa.add_question(
        s,
        Question(
            session_id=session.number, number=0, author=act.sender, anonymous=anonymous, text=text, asked_at=act.now
        ),
    )
    if round_ is not None:
        post_questions(act, round_, [question])
        await save(s, question)
    return Asked(session, question.number, round_ is not None)


async def vote(act: Acting, s: AsyncSession, number: int, question: int, *, reaction: str | None = None) -> bool:
    """Count the sender's vote for question `question` of session #N while its round is open,
    once per person, the asker's own too: the count then matches the 👍 everyone sees, and gives
    no anonymous asker away. True when it counted."""
    session = await act.find_session(s, number)
    found = await qa.question_by_number(s, session.number, question)
    if found is None:
        raise UserError("qa.unknown_question", number=question)
    vote = Vote(
        question_id=row_id(found), user_id=act.sender, reaction_event_id=reaction or act.request_id, voted_at=act.now
    )
    return await qa.count_vote(s, found, vote)


async def withdraw_vote(act: Acting, s: AsyncSession, found: Vote) -> bool:
    """Take back a vote (its reaction was removed) while the round is open; only the voter's own."""
    return found.user_id == act.sender and await qa.withdraw_vote(s, found)


async def moderate(
    act: Acting, s: AsyncSession, number: int, status: QuestionStatus, thread_root: str | None = None
) -> Moderated:
    """Mark question `number` of the current round (of the thread the request came from, or the
    latest in its room) answered (its asker is told privately) or hidden."""
    round_ = await current_round(act, s, None, False, thread_root)
    session = await act.find_session(s, round_.session_id)
    act.require(Role.MODERATOR, session)
    question = await qa.question_by_number(s, round_.session_id, number)
    if question is None:
        raise UserError("qa.unknown_question", number=number)
    question.status = status
    question.answered_at = act.now if status == QuestionStatus.ANSWERED else question.answered_at
    await save(s, question)
    if status == QuestionStatus.ANSWERED and question.author not in (act.sender, people.FORGOTTEN):
        act.tell(
            question.author,
            act.t("qa.your_question_answered", number=question.number, **about(session), text=question.text),
        )
    return Moderated(session, question)
