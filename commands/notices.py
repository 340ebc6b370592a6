"""Notices that several handlers send about registrations: who moved up from the waiting list."""

from __future__ import annotations

from bot.context import Context
from rules.sessions import about
from storage.models import Session


def tell_promoted(ctx: Context, session: Session, promoted: list[str]) -> None:
    """Tell each person who moved up into a place, privately (nobody else learns who waited)."""
    ctx.tell_each(
        promoted, "registration.promoted", **about(session), when=ctx.when(session.starts_at, session.ends_at)
    )
