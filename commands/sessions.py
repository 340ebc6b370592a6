"""Sessions of the series: list, details, calendar file."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context, Router, Voice
from bot.i18n import Message
from commands.calendar_file import filename as calendar_filename
from commands.calendar_file import session_calendar
from commands.dates import format_short, format_when
from commands.errors import UserError
from storage import repo
from storage.models import Session, SessionStatus
from storage.repo import SessionSummary

router = Router("sessions")

_REF = re.compile(r"^#?(\d{1,9})\b\s*(.*)$", re.DOTALL)


def parse_ref(args: str) -> tuple[int | None, str]:
    """'#3 Bielefeld' → (3, 'Bielefeld'); no reference → (None, args)."""
    match = _REF.match(args.strip())
    if not match:
        return None, args.strip()
    return int(match.group(1)), match.group(2).strip()


def require_ref(args: str, usage: str) -> tuple[int, str]:
    number, rest = parse_ref(args)
    if number is None:
        raise UserError("errors.missing_ref", usage=usage)
    return number, rest


async def find_session(s: AsyncSession, number: int) -> Session:
    session = await repo.get_session(s, number)
    if session is None:
        raise UserError("errors.unknown_session", ref=f"#{number}")
    return session


def check_open(session: Session, now: datetime) -> None:
    """Refuse changes to a session that is cancelled or has begun."""
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", ref=f"#{session.id}", title=session.title)
    if session.starts_at <= now:
        raise UserError("errors.session_past", ref=f"#{session.id}", title=session.title)


def places_text(ctx: Voice, summary: SessionSummary) -> Message:
    capacity = summary.session.capacity
    if capacity is None:
        return ctx.t("sessions.places_unlimited", registered=summary.registered)
    left = max(capacity - summary.registered, 0)
    if left == 0:
        return ctx.t("sessions.places_full", capacity=capacity, waitlisted=summary.waitlisted)
    return ctx.t("sessions.places_left", left=left, capacity=capacity)


def session_line(ctx: Voice, summary: SessionSummary) -> Message:
    session = summary.session
    return ctx.t("sessions.line", ref=f"#{session.id}",
                 date=format_short(session.starts_at, ctx.config.timezone, ctx.language),
                 title=session.title, places=places_text(ctx, summary))


def session_details(ctx: Voice, summary: SessionSummary, howto: str = "sessions.details_howto") -> Message:
    """The full description of one session, as shown by `!termin #N`; `howto` says how to register."""
    session = summary.session
    lines = [ctx.t("sessions.details_head", ref=f"#{session.id}", title=session.title),
             ctx.t("sessions.details_when",
                   when=format_when(session.starts_at, session.ends_at, ctx.config.timezone, ctx.language))]
    deadline = session.registration_deadline
    for key, value in (("talk", session.talk), ("speaker", session.speaker), ("region", session.region),
                       ("description", session.description), ("link", session.link),
                       ("deadline", deadline and format_short(deadline, ctx.config.timezone, ctx.language))):
        if value:
            lines.append(ctx.t(f"sessions.details_{key}", value=value))
    lines.append(ctx.t("sessions.details_places", places=places_text(ctx, summary)))
    if summary.waitlisted:
        lines.append(ctx.t("sessions.details_waitlist", count=summary.waitlisted))
    if session.status == SessionStatus.CANCELLED:
        lines.append(ctx.t("sessions.details_cancelled", reason=session.cancel_reason or "–"))
    elif session.starts_at <= ctx.now:
        lines.append(ctx.t("sessions.details_past"))
    else:
        lines.append(ctx.t(howto, ref=f"#{session.id}"))
    return Message.join(lines)


@router.command("termine", aliases=("sessions",), help="help.sessions")
async def list_sessions(ctx: Context, args: str) -> None:
    async with ctx.db.transaction() as s:
        summaries = await repo.upcoming_sessions(s, ctx.now)
    if not summaries:
        await ctx.reply("sessions.none")
        return
    await ctx.reply(Message.join([ctx.t("sessions.list_head"), *(session_line(ctx, x) for x in summaries),
                                  ctx.t("sessions.list_foot")]))


@router.command("termin", aliases=("session",), help="help.session")
async def show_session(ctx: Context, args: str) -> None:
    number, _ = require_ref(args, f"{ctx.prefix}termin #N")
    async with ctx.db.transaction() as s:
        summary = await repo.session_summary(s, number)
    if summary is None:
        raise UserError("errors.unknown_session", ref=f"#{number}")
    await ctx.reply(session_details(ctx, summary))


@router.command("kalender", aliases=("calendar", "ics"), help="help.calendar")
async def calendar(ctx: Context, args: str) -> None:
    number, _ = require_ref(args, f"{ctx.prefix}kalender #N")
    async with ctx.db.transaction() as s:
        session = await find_session(s, number)
    data = session_calendar(session, ctx.config.timezone, ctx.now, ctx.config.matrix.server_name)
    await ctx.send_file(ctx.room_id, data, calendar_filename(session), "text/calendar")
