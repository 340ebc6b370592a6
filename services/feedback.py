"""Feedback on a past session: who answers, as a keyed hash (nobody can tell from the database who said what)."""

from __future__ import annotations

from bot.acting import Acting
from rules.feedback import respondent


def respondent_of(act: Acting, session_id: int) -> str:
    """The sender's keyed hash for a session (the key derives from the bot's secret store key)."""
    return respondent(act.config.matrix.store_key, session_id, act.sender)
