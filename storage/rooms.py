"""Official rooms enabled at run time (`!raum freischalten`), with their region."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OfficialRoom
from storage.rows import delete, save


async def enabled_rooms(s: AsyncSession) -> dict[str, str]:
    """Room id → region of every room enabled by command."""
    return {row.room_id: row.region for row in (await s.exec(select(OfficialRoom))).all()}


async def enable(s: AsyncSession, room_id: str, region: str, now: datetime) -> None:
    row = await s.get(OfficialRoom, room_id) or OfficialRoom(room_id=room_id, region=region, enabled_at=now)
    row.region, row.enabled_at = region, now
    await save(s, row)


async def disable(s: AsyncSession, room_id: str) -> bool:
    """Take a room off the official list; False when it was not on it."""
    row = await s.get(OfficialRoom, room_id)
    if row is None:
        return False
    await delete(s, row)
    return True
