"""Who invited the bot into each room it joined on an invitation (official rooms aside): one row
per room, written when it joins, deleted when it leaves or is removed."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import RoomInvitation
from storage.rows import upsert


async def rooms_invited_by(s: AsyncSession, inviter: str) -> list[str]:
    """The rooms the bot is in because `inviter` invited it, oldest first."""
    query = select(RoomInvitation.room_id).where(RoomInvitation.inviter == inviter)
    return list((await s.exec(query.order_by(col(RoomInvitation.joined_at)))).all())


async def record(s: AsyncSession, room_id: str, inviter: str, now: datetime) -> None:
    """The bot joined `room_id` on `inviter`'s invitation (a room joined again: its new inviter)."""
    await upsert(s, RoomInvitation, {"room_id": room_id, "inviter": inviter, "joined_at": now}, "room_id")


async def left(s: AsyncSession, room_ids: Collection[str]) -> None:
    """The bot left these rooms (or was removed): who invited it there is not kept."""
    if room_ids:
        await s.exec(delete(RoomInvitation).where(col(RoomInvitation.room_id).in_(room_ids)))
