"""Rating polls in a session's room (Matrix polls: their votes live on the homeserver)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Poll


async def running_poll(s: AsyncSession, session_id: int) -> Poll | None:
    """The session's poll not ended yet, if any."""
    query = select(Poll).where(Poll.session_id == session_id, col(Poll.ended_at).is_(None))
    return (await s.exec(query)).first()
