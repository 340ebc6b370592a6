"""Series: `!reihe neu` plans every part in one go and posts the series' announcement (✅ on it
registers for all parts, see `commands.registration`); `!reihe N` shows a series."""

from __future__ import annotations

from datetime import timedelta

from bot.arguments import Number, Rest
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from rules.i18n import Message
from rules.series import parse_series, part_lines, series_announcement, series_ref
from services.sessions import add_session, announcing_room
from storage import series
from storage.models import Series
from storage.rows import save

router = Router("series")


@router.command(
    "reihe neu",
    aliases=("series new",),
    help="help.series_new",
    role=Role.COORDINATOR,
    args=[Rest("fields", "args.series_fields", missing="series.new_usage")],
)
async def create_series(ctx: Context, fields: str) -> None:
    """Every part a session of its own (number, places, waiting list, announcement, reminders),
    announced where `!termin neu` would announce it; the answer shows every date as understood."""
    duration = timedelta(minutes=ctx.config.session_minutes)
    plan = parse_series(fields, ctx.now, ctx.timezone, ctx.config.default_capacity, duration)
    room_id = announcing_room(ctx, plan.values)
    async with ctx.join_batch() as s:
        created = await save(s, Series(title=plan.title, room_id=room_id, created_at=ctx.now))
        parts = []
        for number, part in enumerate(plan.parts, start=1):
            title = part.title or ctx.t("series.part_title", title=plan.title, part=number).plain
            values = {**plan.values, "title": title, "starts_at": part.starts_at, "ends_at": part.ends_at}
            parts.append(await add_session(ctx, s, {**values, "series_id": created.number}, room_id))
    ctx.post(room_id, series_announcement(ctx, created.number, plan.title, parts), records=f"series:{created.id}")
    head = ctx.t("series.created", ref=series_ref(created.id), title=plan.title, count=len(parts))
    foot = ctx.t("series.created_foot", ref=series_ref(created.id))
    await ctx.reply(Message.join([head, *part_lines(ctx, parts), foot]))


@router.command("reihe", aliases=("series",), help="help.series", args=[Number("number", "args.series")])
async def show_series(ctx: Context, number: int) -> None:
    async with ctx.join_batch() as s:
        found = await ctx.find_series(s, number)
        parts = await series.parts(s, found.number)
    await ctx.reply(series_announcement(ctx, found.number, found.title, parts))
