"""What the runtime does for feedback (`FEATURE`, see `bot.features`): after a session, the question
to each registered person by direct message (with the digits to answer with as the bot's reactions
on it), and the totals in the protocol."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL
from bot.features import Due, Feature, PlannedKind, Timed
from rules.feedback import DIGITS, totals_line
from rules.i18n import Message
from rules.planned_content import feedback_question
from rules.rendering.content import annotation, message_content
from rules.sessions import SessionSummary
from rules.timing import Kind
from rules.voice import Voice
from storage import feedback, planned, registrations
from storage.models import Session
from storage.outbox import Outgoing


def _session(due: Due) -> Session:
    if due.summary is None:
        raise LookupError(f"planned message {due.row.id} belongs to no session")
    return due.summary.session


async def ask_everyone(s: AsyncSession, due: Due) -> list[Timed]:
    """Plan the question to each person registered, now (this row sends nothing itself)."""
    session = _session(due)
    asked = await registrations.registered_user_ids(s, session.number)
    await planned.plan_feedback_questions(s, session, asked, due.now)
    return []


async def question(s: AsyncSession, due: Due) -> list[Timed]:
    """The question to one person, and the digits 1–5 as the bot's reactions on it."""
    row, until = due.row, due.now + NOTICE_TTL
    mentions = (row.user_id,) if row.user_id else ()
    content = message_content(feedback_question(due.voice, _session(due)), notice=False, mentions=mentions)
    reactions = [
        Outgoing(f"{due.key}:{d}", annotation(d), user_id=row.user_id, event_type="m.reaction", thread_of=due.key)
        for d in DIGITS
    ]
    return [due.message(content, until, room_id=row.room_id, user_id=row.user_id), *((r, until) for r in reactions)]


async def protocol_totals(s: AsyncSession, summary: SessionSummary[Session], voice: Voice) -> Message | None:
    """How the session was rated, for its protocol (once there are enough answers)."""
    rated = await feedback.feedback_totals(s, summary.session.number)
    return None if rated is None else Message.join([voice.t("feedback.protocol_head"), totals_line(voice, rated)])


FEATURE = Feature(
    "feedback",
    planned={Kind.FEEDBACK: PlannedKind(ask_everyone, plans_more=True), Kind.FEEDBACK_DM: PlannedKind(question)},
    adds_to={Kind.PROTOCOL: protocol_totals},
)
