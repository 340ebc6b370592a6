"""Bot state kept across restarts: the sync token and the command events already answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    BotState,
    HandledEvent,
)
from storage.rows import insert_new


async def get_state(s: AsyncSession, key: str) -> str | None:
    row = await s.get(BotState, key)
    return row.value if row else None


async def set_state(s: AsyncSession, key: str, value: str) -> None:
    await s.merge(BotState(key=key, value=value))


async def handled(s: AsyncSession, event_ids: list[str]) -> set[str]:
    """Which of these events were already answered."""
    if not event_ids:
        return set()
    rows = await s.exec(select(HandledEvent.event_id).where(col(HandledEvent.event_id).in_(event_ids)))
    return set(rows.all())


async def mark_handled(s: AsyncSession, event_id: str, room_id: str, now: datetime) -> None:
    """Record the event as handled (once; recording it again changes nothing)."""
    await insert_new(s, HandledEvent, {"event_id": event_id, "room_id": room_id, "handled_at": now}, "event_id")


async def prune_handled(s: AsyncSession, before: datetime) -> None:
    """Forget answered events older than `before` (sync never hands them out again)."""
    await s.exec(delete(HandledEvent).where(col(HandledEvent.handled_at) < before))
