"""Notices that several use cases send about registrations: who moved up from the waiting list."""

from __future__ import annotations

from bot.acting import Acting
from rules.sessions import about
from storage.models import Session


def tell_promoted(act: Acting, session: Session, promoted: list[str]) -> None:
    """Tell each person who moved up into a place, privately (nobody else learns who waited)."""
    act.tell_each(
        promoted, "registration.promoted", **about(session), when=act.when(session.starts_at, session.ends_at)
    )
