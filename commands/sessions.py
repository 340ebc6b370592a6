"""Sessions of the series: list, details, calendar file."""

from __future__ import annotations

from bot.arguments import SessionRef
from bot.context import Context
from bot.routing import Router
from rules.calendar_file import filename as calendar_filename
from rules.calendar_file import session_calendar
from rules.errors import UserError
from rules.i18n import Message
from rules.sessions import ref, session_details, session_line
from storage import sessions

router = Router("sessions")


@router.command("termine", aliases=("sessions",), help="help.sessions")
async def list_sessions(ctx: Context) -> None:
    async with ctx.db.transaction() as s:
        summaries = await sessions.upcoming_sessions(s, ctx.now, scope=ctx.scope())
    if not summaries:
        await ctx.reply("sessions.none")
        return
    await ctx.reply(
        Message.join(
            [ctx.t("sessions.list_head"), *(session_line(ctx, x) for x in summaries), ctx.t("sessions.list_foot")]
        )
    )


@router.command("termin", aliases=("session",), help="help.session", args=[SessionRef()])
async def show_session(ctx: Context, number: int) -> None:
    async with ctx.db.transaction() as s:
        summary = await sessions.session_summary(s, number)
    if summary is None or not ctx.official.is_official(summary.session.room_id):
        raise UserError("errors.unknown_session", ref=ref(number))
    await ctx.reply(session_details(ctx, summary))


@router.command("kalender", aliases=("calendar", "ics"), help="help.calendar", args=[SessionRef()])
async def calendar(ctx: Context, number: int) -> None:
    async with ctx.db.transaction() as s:
        session = await ctx.find_session(s, number)
    data = session_calendar(session, ctx.timezone, ctx.now, ctx.config.matrix.server_name)
    ctx.send_file(data, calendar_filename(session), "text/calendar")
