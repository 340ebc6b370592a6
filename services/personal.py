"""What a person reads and sets about their own registrations: the sessions they are registered
for, and whether reminders also come by direct message."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from storage import people, registrations, series
from storage.registrations import MyRegistration
from storage.rows import save


@dataclass(frozen=True)
class MyRegistrations:
    """The person's active registrations for sessions that have not ended, and the titles of the
    series among them (by series number)."""

    rows: list[MyRegistration]
    series_titles: dict[int, str]


async def my_registrations(act: Acting, s: AsyncSession) -> MyRegistrations:
    """The sessions the person holds a place or a waiting position for."""
    rows = await registrations.my_registrations(s, act.sender, act.now)
    titles = await series.titles(s, {row.session.series_id for row in rows if row.session.series_id})
    return MyRegistrations(rows, titles)


async def set_reminders(act: Acting, s: AsyncSession, on: bool | None) -> bool:
    """Reminders by direct message for every session the person is registered for: switched on or
    off (None: left as they are). Whether they are on now."""
    settings = await people.settings_for(s, act.sender, act.now)
    if on is not None:
        settings.dm_reminders, settings.updated_at = on, act.now
        await save(s, settings)
    return settings.dm_reminders is not False
