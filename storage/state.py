"""Bot state kept across restarts: the sync token and the command events already answered."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    BotState,
    HandledEvent,
)
from storage.rows import insert_new_rows, upsert

RATE_LIMITED_AT = "rate_limited_at"  # when the homeserver last answered 429 (noted at most once a minute)
RATE_LIMIT_LOOK_BACK = timedelta(hours=1)  # a 429 this recent is worth a word in !status and check-config


async def get_state(s: AsyncSession, key: str) -> str | None:
    row = await s.get(BotState, key)
    return row.value if row else None


async def set_state(s: AsyncSession, key: str, value: str) -> None:
    await upsert(s, BotState, {"key": key, "value": value}, "key")


async def handled(s: AsyncSession, event_ids: list[str]) -> set[str]:
    """Which of these events were already answered."""
    if not event_ids:
        return set()
    rows = await s.exec(select(HandledEvent.event_id).where(col(HandledEvent.event_id).in_(event_ids)))
    return set(rows.all())


async def mark_handled(s: AsyncSession, events: list[tuple[str, str]], now: datetime) -> None:
    """Record these events (event id, room id) as handled, in one statement (once; recording one
    again changes nothing)."""
    rows = [{"event_id": event_id, "room_id": room_id, "handled_at": now} for event_id, room_id in events]
    await insert_new_rows(s, HandledEvent, rows, "event_id")


async def prune_handled(s: AsyncSession, before: datetime) -> None:
    """Forget answered events older than `before` (sync never hands them out again)."""
    await s.exec(delete(HandledEvent).where(col(HandledEvent.handled_at) < before))


async def note_rate_limited(s: AsyncSession, now: datetime) -> None:
    """The homeserver slowed the bot down (429) at `now`."""
    await set_state(s, RATE_LIMITED_AT, now.isoformat())


async def rate_limited_lately(s: AsyncSession, now: datetime) -> datetime | None:
    """When the homeserver last slowed the bot down, if that was within RATE_LIMIT_LOOK_BACK."""
    noted = await get_state(s, RATE_LIMITED_AT)
    last = datetime.fromisoformat(noted) if noted else None
    return last if last is not None and last >= now - RATE_LIMIT_LOOK_BACK else None
