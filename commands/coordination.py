"""Coordinators' tools: create, change and cancel sessions; participant lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL
from bot.arguments import Rest, SessionOrSeries, SessionRef, Target
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from rules import participants_file, waitlist
from rules.content import edit_content, message_content
from rules.errors import UserError
from rules.i18n import Message
from rules.series import PER_PART, part_lines, series_announcement, series_ref
from rules.series_dates import TIME_EXAMPLE, parse_times, same_day
from rules.session_fields import check_deadline, parse_values, split_fields
from rules.sessions import about, check_open, created_message, ref, session_details
from rules.states import SessionStatus
from services.notices import tell_promoted
from services.sessions import new_session
from storage import planned, registrations, series, sessions
from storage.models import Series, Session
from storage.outbox import Outgoing
from storage.rows import save

router = Router("coordination")

# Changes that calendars and registered people must hear about.
NOTIFYING_CHANGES = ("starts_at", "ends_at", "link")


async def session_to_change(ctx: Context, s: AsyncSession, number: int) -> Session:
    """Session #number, locked for this transaction, if the sender coordinates it and it is still ahead."""
    await sessions.lock_session(s, number)
    session = await ctx.find_session(s, number)
    ctx.require(Role.COORDINATOR, session)
    check_open(session, ctx.now)
    return session


@router.command(
    "termin neu",
    aliases=("session new",),
    help="help.session_new",
    role=Role.COORDINATOR,
    args=[Rest("fields", "args.new_fields", missing="sessions.new_usage")],
)
async def create_session(ctx: Context, fields: str) -> None:
    """A new session, announced in this room if it is an official one; a coordinator from the
    config may name an official room (`Raum: !id`) from anywhere, e.g. a direct chat."""
    async with ctx.join_batch() as s:
        session = await new_session(ctx, s, fields, ctx.room_id)
    await ctx.reply(created_message(ctx, session))


@dataclass(frozen=True)
class Change:
    """What changing one session came to: the fields that changed, whether registered people
    must hear of it (`people`), and who moved up into new places."""

    session: Session
    changed: dict[str, Any]
    notify: bool
    people: list[str]
    promoted: list[str]


async def apply_change(ctx: Context, s: AsyncSession, session: Session, values: dict[str, Any]) -> Change:
    """Give a session that is still ahead (and locked) new values; plans follow its start."""
    if "room_id" in values:
        raise UserError("coordination.room_fixed")
    changed = {k: v for k, v in values.items() if getattr(session, k) != v}
    check_deadline(
        changed.get("registration_deadline", session.registration_deadline),
        changed.get("starts_at", session.starts_at),
    )
    for key, value in changed.items():
        setattr(session, key, value)
    notify = any(k in changed for k in NOTIFYING_CHANGES)
    if changed:
        sessions.record_change(session, changed, ctx.now)
    await save(s, session)
    if "starts_at" in changed or "ends_at" in changed:  # the feedback question follows the end
        await planned.plan_session(s, session, ctx.config, ctx.now)
    promoted = await registrations.promote_waiting(s, session, ctx.now) if "capacity" in changed else []
    people = [r.user_id for r in await registrations.active_registrations(s, session.number)] if notify else []
    ctx.plans.changed(session.number)
    return Change(session, changed, notify, people, promoted)


@router.command(
    "termin ändern",
    aliases=("termin aendern", "session change"),
    help="help.session_change",
    role=Role.COORDINATOR,
    args=[SessionOrSeries(), Rest("fields", "args.change_fields", missing="coordination.change_usage")],
)
async def change_command(ctx: Context, target: Target, fields: str) -> None:
    if target.series:
        await change_series(ctx, target.number, fields)
    else:
        await change_session(ctx, target.number, fields)


async def change_session(ctx: Context, number: int, fields: str) -> None:
    """`!termin ändern #N Feld: Wert`: one session."""
    async with ctx.join_batch() as s:
        session = await session_to_change(ctx, s, number)
        values = parse_values(split_fields(fields), ctx.now, ctx.timezone, session.ends_at - session.starts_at)
        change = await apply_change(ctx, s, session, values)
        summary = await sessions.session_summary(s, number)
        whole = await series_of(s, session) if change.changed else None
    assert summary is not None
    details = session_details(ctx, summary)
    key = "coordination.changed" if change.changed else "coordination.unchanged"
    await ctx.reply(Message.join([ctx.t(key, ref=ref(number)), details]))
    if change.people:
        ctx.tell_each(change.people, "coordination.changed_notice", **about(session), details=details)
    tell_promoted(ctx, session, change.promoted)
    if whole:
        edit_series_announcement(ctx, *whole)


async def change_series(ctx: Context, number: int, fields: str) -> None:
    """`!termin ändern Reihe N Feld: Wert`: every part still ahead; `Wann` moves them to another
    time of day (each on its own date), `Titel` renames the series."""
    entries = split_fields(fields)
    times = next((parse_times(value) for field, value in entries if field == "when"), None)
    titled = [entry for entry in entries if entry[0] == "title"]
    shared = [entry for entry in entries if entry[0] not in ("when", "title")]
    async with ctx.join_batch() as s:
        found = await ctx.find_series(s, number)
        ahead = await series.parts_ahead(s, found.number, ctx.now)
        if not ahead:
            raise UserError("series.nothing_ahead", ref=series_ref(found.id), title=found.title)
        changes = []
        for part in ahead:
            session = await session_to_change(ctx, s, part.number)
            length = session.ends_at - session.starts_at
            values = parse_values(shared, ctx.now, ctx.timezone, length)
            for field in PER_PART:
                if field in values:
                    raise UserError("series.per_part")
            if times is not None:
                moved = same_day(session.starts_at, times, ctx.timezone, length)
                if moved.start <= ctx.now:
                    raise UserError("series_dates.past", date=ctx.short(moved.start), example=TIME_EXAMPLE)
                values["starts_at"], values["ends_at"] = moved.start, moved.end
            changes.append(await apply_change(ctx, s, session, values))
        title = parse_values(titled, ctx.now, ctx.timezone, timedelta(0)).get("title", found.title)
        renamed, found.title = title != found.title, title
        await save(s, found)
        every_part = await series.parts(s, found.number)
    changed = [c.session for c in changes if c.changed]
    key = "series.changed" if changed or renamed else "series.unchanged"
    lines = [ctx.t(key, ref=series_ref(found.id), title=found.title, count=len(changed))]
    await ctx.reply(Message.join([*lines, *part_lines(ctx, every_part, shown=[c.session for c in changes])]))
    people: dict[str, list[Session]] = {}
    for change in changes:
        for person in change.people:
            people.setdefault(person, []).append(change.session)
    for person, theirs in people.items():  # one notice each, naming every part of theirs that changed
        notice = ctx.t("series.changed_notice", ref=series_ref(found.id), title=found.title)
        ctx.tell(person, Message.join([notice, *part_lines(ctx, every_part, shown=theirs)]))
    for change in changes:
        tell_promoted(ctx, change.session, change.promoted)
    if changed or renamed:
        edit_series_announcement(ctx, found, every_part)


def edit_series_announcement(ctx: Context, found: Series, parts: list[Session]) -> None:
    """Bring the series' announcement in line with its parts (an edit that pings nobody)."""
    if found.announcement_event_id is None:
        return
    announcement = message_content(series_announcement(ctx, found.number, found.title, parts), notice=False)
    edit = edit_content(found.announcement_event_id, announcement)
    ctx.queue(Outgoing(f"series-edit:{found.id}:{ctx.event_id}", edit, room_id=found.room_id), NOTICE_TTL)


async def series_of(s: AsyncSession, session: Session) -> tuple[Series, list[Session]] | None:
    """The series a session is a part of, with every part, if it is one."""
    found = await series.get_series(s, session.series_id) if session.series_id else None
    return (found, await series.parts(s, found.number)) if found else None


@router.command(
    "termin absagen",
    aliases=("session cancel",),
    help="help.session_cancel",
    role=Role.COORDINATOR,
    args=[SessionRef(), Rest("reason", "args.reason", required=False)],
)
async def cancel_session(ctx: Context, number: int, reason: str) -> None:
    async with ctx.join_batch() as s:
        session = await session_to_change(ctx, s, number)
        session.status, session.cancel_reason = SessionStatus.CANCELLED, reason or None
        sessions.record_change(session, ["status"], ctx.now)
        await save(s, session)
        await planned.plan_session(s, session, ctx.config, ctx.now)
        people = [r.user_id for r in await registrations.active_registrations(s, session.number)]
        whole = await series_of(s, session)
    ctx.plans.changed(number)
    if whole:
        edit_series_announcement(ctx, *whole)
    because = ctx.t("coordination.reason", reason=reason) if reason else ""
    await ctx.reply("coordination.cancelled", **about(session), count=len(people))
    if people:
        ctx.tell_each(people, "coordination.cancelled_notice", **about(session), reason=because)


@router.command(
    "teilnehmer",
    aliases=("teilnehmende", "participants"),
    help="help.participants",
    role=Role.COORDINATOR,
    args=[SessionRef()],
)
async def participants(ctx: Context, number: int) -> None:
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        rows = await registrations.active_registrations(s, number)
    seats = registrations.seats(rows)
    registered, waiting = len(waitlist.registered(seats)), len(waitlist.waiting(seats))
    municipalities = len({r.municipality for r in rows if r.municipality})
    if not rows:
        await ctx.reply("coordination.participants_none", **about(session))
        return
    people = [
        participants_file.Participant(
            name=ctx.rooms.display_name(session.room_id, r.user_id) or r.user_id,
            user_id=r.user_id,
            municipality=r.municipality,
            status=r.status,
            position=waitlist.waitlist_position(seats, r.user_id),
            registered_at=r.queued_at,
        )
        for r in rows
    ]
    data = participants_file.participants_csv(people, ctx.timezone)
    ctx.send_file(data, participants_file.filename(number), "text/csv", to_user=ctx.sender)
    await ctx.reply(
        "coordination.participants",
        **about(session),
        registered=registered,
        waiting=waiting,
        municipalities=municipalities,
    )
