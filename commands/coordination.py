"""Coordinators' tools: create, change and cancel sessions; participant lists."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.arguments import Rest, SessionRef
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from commands.notices import tell_promoted
from rules import participants_file, waitlist
from rules.errors import UserError
from rules.i18n import Message
from rules.session_fields import check_deadline, parse_new, parse_values, split_fields
from rules.sessions import SessionSummary, about, check_open, ref, session_details
from rules.states import SessionStatus
from storage import planned, registrations, sessions
from storage.models import Session
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
    values = parse_new(
        fields, ctx.now, ctx.timezone, ctx.config.default_capacity, timedelta(minutes=ctx.config.session_minutes)
    )
    room_id = values.pop("room_id", None) or ctx.room_id
    named_elsewhere = room_id != ctx.room_id and ctx.roles.configured_coordinator(ctx.sender)
    if not ctx.official.is_official(room_id) or (room_id != ctx.room_id and not named_elsewhere):
        raise UserError("coordination.not_official")
    values["region"] = values.get("region") or ctx.official.region(room_id)
    async with ctx.db.transaction() as s:
        session = await save(s, Session(**values, room_id=room_id, created_by=ctx.sender, created_at=ctx.now))
        await planned.plan_session(s, session, ctx.config, ctx.now)
    assert session.id is not None
    ctx.plans.changed(session.id)
    await ctx.reply(
        Message.join(
            [ctx.t("coordination.created", ref=ref(session.id)), session_details(ctx, SessionSummary(session, 0, 0))]
        )
    )


@router.command(
    "termin ändern",
    aliases=("termin aendern", "session change"),
    help="help.session_change",
    role=Role.COORDINATOR,
    args=[SessionRef(), Rest("fields", "args.change_fields", missing="coordination.change_usage")],
)
async def change_session(ctx: Context, number: int, fields: str) -> None:
    async with ctx.db.transaction() as s:
        session = await session_to_change(ctx, s, number)
        values = parse_values(split_fields(fields), ctx.now, ctx.timezone, session.ends_at - session.starts_at)
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
        if "starts_at" in changed:
            await planned.plan_session(s, session, ctx.config, ctx.now)
        promoted = await registrations.promote_waiting(s, session, ctx.now) if "capacity" in changed else []
        people = [r.user_id for r in await registrations.active_registrations(s, session.number)]
        summary = await sessions.session_summary(s, number)
    assert summary is not None
    ctx.plans.changed(number)
    details = session_details(ctx, summary)
    key = "coordination.changed" if changed else "coordination.unchanged"
    await ctx.reply(Message.join([ctx.t(key, ref=ref(number)), details]))
    if notify and people:
        ctx.tell_each(people, "coordination.changed_notice", **about(session), details=details)
    tell_promoted(ctx, session, promoted)


@router.command(
    "termin absagen",
    aliases=("session cancel",),
    help="help.session_cancel",
    role=Role.COORDINATOR,
    args=[SessionRef(), Rest("reason", "args.reason", required=False)],
)
async def cancel_session(ctx: Context, number: int, reason: str) -> None:
    async with ctx.db.transaction() as s:
        session = await session_to_change(ctx, s, number)
        session.status, session.cancel_reason = SessionStatus.CANCELLED, reason or None
        sessions.record_change(session, ["status"], ctx.now)
        await save(s, session)
        await planned.plan_session(s, session, ctx.config, ctx.now)
        people = [r.user_id for r in await registrations.active_registrations(s, session.number)]
    ctx.plans.changed(number)
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
    async with ctx.db.transaction() as s:
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
