"""Series: planning every part in one go (each a session of its own, announced where a new session
would be, with the series' own announcement, on which ✅ registers for all parts), reading one
with its parts or as one calendar file, and keeping its announcement in line with its parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, Acting
from rules.rendering.calendar_file import series_calendar, series_filename
from rules.rendering.content import edit_content, message_content
from rules.series import parse_series, series_announcement
from services.sessions import CalendarFile, add_session, announcing_room
from storage import series
from storage.models import Series, Session
from storage.outbox import Outgoing
from storage.rows import save


@dataclass(frozen=True)
class SeriesParts:
    """A series with every part, in order."""

    series: Series
    parts: list[Session]


async def create_series(act: Acting, s: AsyncSession, fields: str, room_id: str) -> SeriesParts:
    """Parse the fields of `!reihe neu`, save every part as a session (announced in `room_id`
    unless the fields name another official room, see `announcing_room`) and post the series'
    announcement there."""
    duration = timedelta(minutes=act.config.session_minutes)
    plan = parse_series(fields, act.now, act.timezone, act.config.default_capacity, duration)
    room_id = announcing_room(act, plan.values, room_id)
    created = await save(s, Series(title=plan.title, room_id=room_id, created_at=act.now))
    parts = []
    for number, part in enumerate(plan.parts, start=1):
        title = part.title or act.t("series.part_title", title=plan.title, part=number).plain
        values = {**plan.values, "title": title, "starts_at": part.starts_at, "ends_at": part.ends_at}
        parts.append(await add_session(act, s, {**values, "series_id": created.number}, room_id))
    act.post(room_id, series_announcement(act, created.number, plan.title, parts), records=f"series:{created.id}")
    return SeriesParts(created, parts)


async def series_parts(act: Acting, s: AsyncSession, number: int) -> SeriesParts:
    """Series number N with every part, if it is announced in an official room."""
    found = await act.find_series(s, number)
    return SeriesParts(found, await series.parts(s, found.number))


async def series_calendar_file(act: Acting, s: AsyncSession, number: int) -> CalendarFile:
    """One calendar file with every part of series number N."""
    found = await series_parts(act, s, number)
    data = series_calendar(found.parts, act.timezone, act.now, act.config.matrix.server_name)
    return CalendarFile(data, series_filename(found.series.number))


async def series_of(s: AsyncSession, session: Session) -> SeriesParts | None:
    """The series a session is a part of, with every part, if it is one."""
    found = await series.get_series(s, session.series_id) if session.series_id else None
    return SeriesParts(found, await series.parts(s, found.number)) if found else None


def edit_series_announcement(act: Acting, whole: SeriesParts) -> None:
    """Bring the series' announcement in line with its parts (an edit that pings nobody)."""
    found = whole.series
    if found.announcement_event_id is None:
        return
    announcement = message_content(series_announcement(act, found.number, found.title, whole.parts), notice=False)
    edit = edit_content(found.announcement_event_id, announcement)
    act.queue(Outgoing(f"series-edit:{found.id}:{act.request_id}", edit, room_id=found.room_id), NOTICE_TTL)
