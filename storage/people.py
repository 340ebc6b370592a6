"""People: a person's settings, the direct chat the bot made with them, and what stands in for a
person whose data was deleted.

What is stored about a person, and how it is exported, deleted and purged, lives beside this
module: `storage.inventory` (the data-protection inventory), `storage.export` (`!meine-daten`)
and `storage.purge` (`!daten-löschen` and the retention purge).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DirectRoom, PersonSettings
from storage.rows import save

# What stands in for a deleted person where a record must stay.
FORGOTTEN = "(gelöscht)"


async def settings_for(s: AsyncSession, user_id: str, now: datetime) -> PersonSettings:
    """A person's settings: the stored ones, or new defaults (saved only when the caller saves them)."""
    return await s.get(PersonSettings, user_id) or PersonSettings(user_id=user_id, updated_at=now)


async def direct_room_of(s: AsyncSession, user_id: str) -> str | None:
    """The direct chat the bot made with this person, if it recorded one."""
    row = await s.get(DirectRoom, user_id)
    return row.room_id if row else None


async def direct_room_ids(s: AsyncSession) -> set[str]:
    """The direct chats the bot made and recorded, one per person."""
    return set((await s.exec(select(col(DirectRoom.room_id)))).all())


async def record_direct_room(s: AsyncSession, user_id: str, room_id: str, now: datetime) -> None:
    """Remember the direct chat the bot just made with this person (replacing an older one)."""
    row = await s.get(DirectRoom, user_id) or DirectRoom(user_id=user_id, room_id=room_id, created_at=now)
    row.room_id, row.created_at = room_id, now
    await save(s, row)
