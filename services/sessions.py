"""Sessions: creating one (parsed from a coordinator's fields, announced in an official room) and
saving it with its announcements and reminders planned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from rules.errors import UserError
from rules.session_fields import parse_new
from storage import planned
from storage.models import Session
from storage.rows import save


async def new_session(act: Acting, s: AsyncSession, fields: str, room_id: str) -> Session:
    """Parse the fields of `!termin neu`, save the session (announced in `room_id` unless the
    fields name another official room) and plan its messages."""
    values = parse_new(
        fields, act.now, act.timezone, act.config.default_capacity, timedelta(minutes=act.config.session_minutes)
    )
    room_id = announcing_room(act, values, room_id)
    return await add_session(act, s, values, room_id)


def announcing_room(act: Acting, values: dict[str, Any], default: str | None = None) -> str:
    """The official room a new session is announced in: `default` (this room unless given), or
    the one a coordinator from the config names with `Raum:`; takes `room_id` out of `values`
    and fills in the region."""
    named: str | None = values.pop("room_id", None)
    room_id = named or default or act.room_id
    named_elsewhere = named not in (None, act.room_id)
    if not act.official.is_official(room_id) or (named_elsewhere and not act.roles.configured_coordinator(act.sender)):
        raise UserError("coordination.not_official")
    values["region"] = values.get("region") or act.official.region(room_id)
    return room_id


async def add_session(act: Acting, s: AsyncSession, values: dict[str, Any], room_id: str) -> Session:
    """Save a new session with its announcements and reminders planned."""
    session = await save(s, Session(**values, room_id=room_id, created_by=act.sender, created_at=act.now))
    await planned.plan_session(s, session, act.config, act.now)
    act.plans.changed(session.number)
    return session
