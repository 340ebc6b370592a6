"""Writing planned messages, in the same transaction as the change that causes them.

A session's announcements and reminders follow its start time (see `commands.timing`);
protocol links, material and follow-ups are planned once each, under a key that names the
command that asked for them, so a repeated command never plans twice.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from commands.timing import BEFORE_SESSION, FROM_SCHEDULE, Action, Existing, Kind, reconcile, wanted_slots
from storage import repo
from storage.models import PlannedMessage, PlannedStatus, Session, SessionStatus


def schedule_key(kind: Kind, session_id: int, slot: str) -> str:
    return f"{kind}:{session_id}:{slot}"


def slot_in(key: str) -> str:
    return key.rsplit(":", 1)[1]


def rearm(row: PlannedMessage, due_at: datetime) -> None:
    """Make a sent or given-up message due again (with a new transaction id)."""
    row.status, row.due_at, row.revision = PlannedStatus.PENDING, due_at, row.revision + 1
    row.attempts, row.last_error, row.late, row.sent_event_id, row.sent_at = 0, None, False, None, None


async def plan_session(s: AsyncSession, session: Session, config: Config, now: datetime) -> None:
    """Bring a session's announcements and reminders in line with its (new) start or cancellation."""
    rows = {row.id: row for row in await repo.planned_of_session(s, session.id, FROM_SCHEDULE)}
    existing = [Existing(r.id, Kind(r.kind), slot_in(r.key), r.status, r.due_at) for r in rows.values() if r.id]
    wanted = [] if session.status == SessionStatus.CANCELLED else wanted_slots(
        session.starts_at, config.announce_before, config.remind_before, config.timezone, now)
    for change in reconcile(existing, wanted):
        slot = change.slot
        if change.action == Action.CREATE and slot:
            await repo.save_planned(s, PlannedMessage(
                key=schedule_key(slot.kind, session.id, slot.slot), kind=slot.kind, session_id=session.id,
                room_id=session.room_id, due_at=slot.due_at, created_at=now))
        elif change.action == Action.MOVE and slot and change.id:
            rows[change.id].due_at = slot.due_at
        elif change.action == Action.REARM and slot and change.id:
            rearm(rows[change.id], slot.due_at)
        elif change.action == Action.SKIP and change.id:
            skip(rows[change.id], "cancelled" if session.status == SessionStatus.CANCELLED else "moved")
    if session.status == SessionStatus.CANCELLED:
        for row in await repo.pending(s, session_id=session.id):
            if row.kind in BEFORE_SESSION:
                skip(row, "cancelled")


def skip(row: PlannedMessage, reason: str) -> None:
    row.status, row.last_error = PlannedStatus.SKIPPED, reason


async def plan_once(s: AsyncSession, kind: Kind, session: Session, key: str, due_at: datetime, now: datetime,
                    data: dict[str, Any] | None = None, user_id: str | None = None) -> PlannedMessage:
    """A one-off message (to the session's room, or to `user_id` directly); nothing new if `key` exists."""
    row = await repo.planned_by_key(s, key)
    if row is None:
        row = await repo.save_planned(s, PlannedMessage(
            key=key, kind=kind, session_id=session.id, room_id=None if user_id else session.room_id,
            user_id=user_id, due_at=due_at, payload=json.dumps(data, ensure_ascii=False) if data else None,
            created_at=now))
    return row


async def plan_dm_reminders(s: AsyncSession, reminder: PlannedMessage, session: Session, now: datetime) -> None:
    """The direct-message copies of a room reminder, one row per person who asked for them."""
    for user_id in await repo.dm_reminder_user_ids(s, session.id):
        key = f"{Kind.REMINDER_DM}:{session.id}:{slot_in(reminder.key)}:{reminder.revision}:{user_id}"
        await plan_once(s, Kind.REMINDER_DM, session, key, reminder.due_at, now, user_id=user_id)
