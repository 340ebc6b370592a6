"""Series: `!reihe neu` plans every part in one go and posts the series' announcement (✅ on it
registers for all parts, see `commands.registration`); `!reihe N` shows a series. The use cases
are in `services.series`."""

from __future__ import annotations

from bot.context import Context
from rules.i18n import Message
from rules.series import part_lines, series_announcement, series_ref
from services.series import create_series, series_parts


async def new_series(ctx: Context, fields: str) -> None:
    """Every part a session of its own (number, places, waiting list, announcement, reminders),
    announced where `!termin neu` would announce it; the answer shows every date as understood."""
    async with ctx.join_batch() as s:
        created = await create_series(ctx, s, fields, ctx.room_id)
    found = created.series
    head = ctx.t("series.created", ref=series_ref(found.id), title=found.title, count=len(created.parts))
    foot = ctx.t("series.created_foot", ref=series_ref(found.id))
    await ctx.reply(Message.join([head, *part_lines(ctx, created.parts), foot]))


async def show_series(ctx: Context, number: int) -> None:
    async with ctx.join_batch() as s:
        found = await series_parts(ctx, s, number)
    await ctx.reply(series_announcement(ctx, found.series.number, found.series.title, found.parts))
