"""Sessions: list (the parts of a series together), details, calendar file (also of a whole
series). The use cases are in `services.sessions` and `services.series`."""

from __future__ import annotations

from bot.arguments import Target
from bot.context import Context
from rules.i18n import Message
from rules.series import grouped_lines
from rules.sessions import session_details, session_line
from services.series import series_calendar_file
from services.sessions import calendar_file, programme, session_summary


async def list_sessions(ctx: Context) -> None:
    """The sessions ahead in this room's region (everywhere else: in every region)."""
    async with ctx.join_batch() as s:
        ahead = await programme(ctx, s)
    if not ahead.summaries:
        await ctx.reply("sessions.none")
        return
    lines = grouped_lines(
        ctx, ahead.summaries, lambda x: x.session.series_id, ahead.series_titles, lambda x: session_line(ctx, x)
    )
    await ctx.reply(Message.join([ctx.t("sessions.list_head"), *lines, ctx.t("sessions.list_foot")]))


async def show_session(ctx: Context, number: int) -> None:
    async with ctx.join_batch() as s:
        summary = await session_summary(ctx, s, number)
    await ctx.reply(session_details(ctx, summary))


async def calendar(ctx: Context, target: Target) -> None:
    async with ctx.join_batch() as s:
        if target.series:
            found = await series_calendar_file(ctx, s, target.number)
        else:
            found = await calendar_file(ctx, s, target.number)
    ctx.send_file(found.data, found.filename, "text/calendar")
