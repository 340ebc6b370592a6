"""Notices that several handlers send about registrations: who moved up from the waiting list."""

from __future__ import annotations

from bot.context import Context
from rules.sessions import about
from storage.models import Session


async def tell_promoted(ctx: Context, session: Session, promoted: list[str]) -> None:
    """Mention the people who moved up into a place, in the session's room."""
    if promoted:
        await ctx.notify(
            session.room_id,
            promoted,
            "registration.promoted",
            **about(session),
            when=ctx.when(session.starts_at, session.ends_at),
        )
