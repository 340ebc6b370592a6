"""Sessions: list (the parts of a series together), details, calendar file (also of a whole series)."""

from __future__ import annotations

from bot.arguments import SessionOrSeries, SessionRef, Target
from bot.context import Context
from bot.routing import Router
from rules.calendar_file import filename as calendar_filename
from rules.calendar_file import series_calendar, series_filename, session_calendar
from rules.errors import UserError
from rules.i18n import Message
from rules.series import grouped_lines
from rules.sessions import ref, session_details, session_line
from storage import series, sessions

router = Router("sessions")


@router.command("termine", aliases=("sessions",), help="help.sessions")
async def list_sessions(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        summaries = await sessions.upcoming_sessions(s, ctx.now, scope=ctx.scope())
        titles = await series.titles(s, {x.session.series_id for x in summaries if x.session.series_id})
    if not summaries:
        await ctx.reply("sessions.none")
        return
    lines = grouped_lines(ctx, summaries, lambda x: x.session.series_id, titles, lambda x: session_line(ctx, x))
    await ctx.reply(Message.join([ctx.t("sessions.list_head"), *lines, ctx.t("sessions.list_foot")]))


@router.command("termin", aliases=("session",), help="help.session", args=[SessionRef()])
async def show_session(ctx: Context, number: int) -> None:
    async with ctx.join_batch() as s:
        summary = await sessions.session_summary(s, number)
    if summary is None or not ctx.official.is_official(summary.session.room_id):
        raise UserError("errors.unknown_session", ref=ref(number))
    await ctx.reply(session_details(ctx, summary))


@router.command("kalender", aliases=("calendar", "ics"), help="help.calendar", args=[SessionOrSeries()])
async def calendar(ctx: Context, target: Target) -> None:
    if target.series:
        await series_calendar_file(ctx, target.number)
        return
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, target.number)
    data = session_calendar(session, ctx.timezone, ctx.now, ctx.config.matrix.server_name)
    ctx.send_file(data, calendar_filename(session), "text/calendar")


async def series_calendar_file(ctx: Context, number: int) -> None:
    """`!kalender Reihe N`: one file with every part of the series."""
    async with ctx.join_batch() as s:
        found = await ctx.find_series(s, number)
        parts = await series.parts(s, found.number)
    data = series_calendar(parts, ctx.timezone, ctx.now, ctx.config.matrix.server_name)
    ctx.send_file(data, series_filename(found.number), "text/calendar")
