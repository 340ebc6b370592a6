"""Series: sessions planned together, found by number, by announcement, and their parts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.errors import UserError
from rules.series import series_ref
from storage.models import Series, Session, SessionStatus


async def find_series(s: AsyncSession, number: int) -> Series:
    """Series number N, or the user is told there is none."""
    series = await s.get(Series, number)
    if series is None:
        raise UserError("series.unknown", ref=series_ref(number))
    return series


async def get_series(s: AsyncSession, series_id: int) -> Series | None:
    return await s.get(Series, series_id)


async def series_by_announcement(s: AsyncSession, event_id: str) -> Series | None:
    return (await s.exec(select(Series).where(Series.announcement_event_id == event_id))).first()


async def parts(s: AsyncSession, series_id: int) -> list[Session]:
    """Every part of a series (also cancelled and past ones), in order."""
    query = select(Session).where(Session.series_id == series_id).order_by(col(Session.starts_at), col(Session.id))
    return list((await s.exec(query)).all())


async def parts_ahead(s: AsyncSession, series_id: int, now: datetime) -> list[Session]:
    """The parts that are scheduled and have not begun: those one can still register for or change."""
    return [p for p in await parts(s, series_id) if p.status == SessionStatus.SCHEDULED and p.starts_at > now]


async def titles(s: AsyncSession, series_ids: set[int]) -> dict[int, str]:
    """The titles of these series, by number."""
    if not series_ids:
        return {}
    rows = (await s.exec(select(Series.id, Series.title).where(col(Series.id).in_(series_ids)))).all()
    return {number: title for number, title in rows if number is not None}
