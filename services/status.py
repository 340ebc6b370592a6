"""What the bot will post next and what went wrong lately, for coordinators: those on the config
list see every room's, those by a room's power only that room's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.roles import Role
from services.roles import require_role
from storage import outbox, planned, state
from storage.models import OutboxMessage, PlannedMessage

SHOW_NEXT = 10
LOOK_BACK = timedelta(days=30)


@dataclass(frozen=True)
class Status:
    """The next planned messages, those in trouble lately, the outbox's backlog, messages not
    delivered lately, and when the homeserver last rate-limited the bot (None: not lately)."""

    upcoming: list[PlannedMessage]
    troubled: list[PlannedMessage]
    backlog: outbox.Backlog
    undelivered: list[OutboxMessage]
    rate_limited: datetime | None


async def report(act: Acting, s: AsyncSession) -> Status:
    """The status as the sender may see it."""
    require_role(act, Role.COORDINATOR)
    room = None if act.roles.configured_coordinator(act.sender) else act.room_id
    return Status(
        await planned.pending(s, limit=SHOW_NEXT, room_id=room),
        await planned.troubled(s, act.now - LOOK_BACK, room_id=room),
        await outbox.backlog(s),
        await outbox.troubled(s, act.now - LOOK_BACK, room_id=room),
        await state.rate_limited_lately(s, act.now),
    )
