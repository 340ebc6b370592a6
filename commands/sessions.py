"""Sessions of the series: list, details, and basic creation by coordinators."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context, Router
from bot.i18n import Message
from bot.roles import Role
from commands.dates import format_short, format_when, parse_when
from commands.errors import UserError
from storage import repo
from storage.models import Session, SessionStatus
from storage.repo import SessionSummary

router = Router("sessions")

_REF = re.compile(r"^#?(\d{1,9})\b\s*(.*)$", re.DOTALL)
MAX_TITLE = 200
MAX_CAPACITY = 10_000
FIELD_NAMES = {"plätze": "capacity", "plaetze": "capacity", "places": "capacity", "link": "link"}


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


def places_text(ctx: Context, summary: SessionSummary) -> Message:
    capacity = summary.session.capacity
    if capacity is None:
        return ctx.t("sessions.places_unlimited", registered=summary.registered)
    left = max(capacity - summary.registered, 0)
    if left == 0:
        return ctx.t("sessions.places_full", capacity=capacity, waitlisted=summary.waitlisted)
    return ctx.t("sessions.places_left", left=left, capacity=capacity)


def session_line(ctx: Context, summary: SessionSummary) -> Message:
    session = summary.session
    return ctx.t("sessions.line", ref=f"#{session.id}",
                 date=format_short(session.starts_at, ctx.config.timezone, ctx.language),
                 title=session.title, places=places_text(ctx, summary))


def session_details(ctx: Context, summary: SessionSummary) -> Message:
    """The full description of one session, as shown by `!termin #N`."""
    session = summary.session
    lines = [ctx.t("sessions.details_head", ref=f"#{session.id}", title=session.title),
             ctx.t("sessions.details_when",
                   when=format_when(session.starts_at, session.ends_at, ctx.config.timezone, ctx.language))]
    for key, value in (("talk", session.talk), ("speaker", session.speaker),
                       ("description", session.description), ("link", session.link)):
        if value:
            lines.append(ctx.t(f"sessions.details_{key}", value=value))
    lines.append(ctx.t("sessions.details_places", places=places_text(ctx, summary)))
    if summary.waitlisted:
        lines.append(ctx.t("sessions.details_waitlist", count=summary.waitlisted))
    if session.status == SessionStatus.CANCELLED:
        lines.append(ctx.t("sessions.details_cancelled"))
    elif session.starts_at <= ctx.now:
        lines.append(ctx.t("sessions.details_past"))
    else:
        lines.append(ctx.t("sessions.details_howto", ref=f"#{session.id}"))
    return Message.join(lines)


@dataclass(frozen=True)
class NewSession:
    """What `!termin neu` asked for, checked."""

    title: str
    start: datetime
    end: datetime
    capacity: int | None
    link: str | None


def _capacity(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_CAPACITY:
        raise UserError("sessions.bad_capacity", value=value, maximum=MAX_CAPACITY)
    return int(value)


def _link(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c.isspace() for c in value):
        raise UserError("sessions.bad_link", value=value)
    return value


def parse_new_session(args: str, now: datetime, tz: ZoneInfo, default_capacity: int | None,
                      minutes: int) -> NewSession:
    """Parse '<Titel> | <Wann> [| Plätze: 30] [| Link: https://…]' (pure)."""
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise UserError("sessions.new_usage")
    title, when_text, *extras = parts
    if len(title) > MAX_TITLE:
        raise UserError("sessions.title_too_long", maximum=MAX_TITLE)
    when = parse_when(when_text, now, tz)
    fields: dict[str, str] = {}
    for extra in extras:
        name, sep, value = extra.partition(":")
        key = FIELD_NAMES.get(name.strip().lower())
        if not sep or key is None or not value.strip():
            raise UserError("sessions.unknown_field", field=extra)
        fields[key] = value.strip()
    capacity = _capacity(fields["capacity"]) if "capacity" in fields else default_capacity
    link = _link(fields["link"]) if "link" in fields else None
    end = when.end or when.start + timedelta(minutes=minutes)
    return NewSession(" ".join(title.split()), when.start, end, capacity, link)


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


@router.command("termin neu", aliases=("session new",), help="help.session_new", role=Role.COORDINATOR)
async def create_session(ctx: Context, args: str) -> None:
    new = parse_new_session(args, ctx.now, ctx.config.timezone, ctx.config.default_capacity,
                            ctx.config.session_minutes)
    async with ctx.db.transaction() as s:
        session = await repo.add_session(s, Session(
            title=new.title, starts_at=new.start, ends_at=new.end, capacity=new.capacity, link=new.link,
            room_id=ctx.room_id, created_by=ctx.sender, created_at=ctx.now,
        ))
    await ctx.reply("sessions.created", ref=f"#{session.id}", title=session.title,
                    when=format_when(session.starts_at, session.ends_at, ctx.config.timezone, ctx.language),
                    places=places_text(ctx, SessionSummary(session, 0, 0)))
