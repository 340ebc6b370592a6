"""What the runtime does for the Q&A (`FEATURE`, see `bot.features`): the round's summary in the
session's protocol."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features import Feature
from rules.i18n import Message
from rules.sessions import SessionSummary
from rules.timing import Kind
from rules.voice import Voice
from storage import qa
from storage.models import Session


async def protocol_summary(s: AsyncSession, summary: SessionSummary[Session], voice: Voice) -> Message | None:
    """How many questions of a closed Q&A round were answered and how many stayed open."""
    questions = await qa.qa_summary(s, summary.session.number)
    if questions is None:
        return None
    answered, still_open = questions
    return voice.t("qa.protocol_summary", answered=answered, open=still_open)


FEATURE = Feature("qa", adds_to={Kind.PROTOCOL: protocol_summary})
