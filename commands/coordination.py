"""Coordinators' tools: create, change and cancel sessions; participant lists."""

from __future__ import annotations

from datetime import timedelta

from bot.dispatch import Context, Router
from bot.i18n import Message
from bot.roles import Role
from commands import participants_file, waitlist
from commands.errors import UserError
from commands.planning import plan_session
from commands.registration import promote_waiting, tell_promoted
from commands.session_fields import check_deadline, parse_new, parse_values, split_fields
from commands.sessions import check_open, find_session, require_ref, session_details
from storage import repo
from storage.models import Session, SessionStatus
from storage.repo import SessionSummary

router = Router("coordination")

# Changes that calendars and registered people must hear about.
NOTIFYING_CHANGES = ("starts_at", "ends_at", "link")


@router.command("termin neu", aliases=("session new",), help="help.session_new", role=Role.COORDINATOR)
async def create_session(ctx: Context, args: str) -> None:
    values = parse_new(args, ctx.now, ctx.config.timezone, ctx.config.default_capacity,
                       timedelta(minutes=ctx.config.session_minutes))
    async with ctx.db.transaction() as s:
        session = await repo.add_session(s, Session(**values, room_id=ctx.room_id, created_by=ctx.sender,
                                                    created_at=ctx.now))
        await plan_session(s, session, ctx.config, ctx.now)
    ctx.plans.changed(session.id)
    await ctx.reply(Message.join([ctx.t("coordination.created", ref=f"#{session.id}"),
                                  session_details(ctx, SessionSummary(session, 0, 0))]))


@router.command("termin ändern", aliases=("termin aendern", "session change"), help="help.session_change",
                role=Role.COORDINATOR)
async def change_session(ctx: Context, args: str) -> None:
    number, rest = require_ref(args, f"{ctx.prefix}termin ändern #N Plätze: 40")
    if not rest:
        raise UserError("coordination.change_usage")
    async with ctx.db.transaction() as s:
        await repo.lock_session(s, number)
        session = await find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        check_open(session, ctx.now)
        values = parse_values(split_fields(rest), ctx.now, ctx.config.timezone,
                              session.ends_at - session.starts_at)
        changed = {k: v for k, v in values.items() if getattr(session, k) != v}
        check_deadline(changed.get("registration_deadline", session.registration_deadline),
                       changed.get("starts_at", session.starts_at))
        for key, value in changed.items():
            setattr(session, key, value)
        notify = any(k in changed for k in NOTIFYING_CHANGES)
        if notify:
            session.sequence += 1
        s.add(session)
        if "starts_at" in changed:
            await plan_session(s, session, ctx.config, ctx.now)
        promoted = await promote_waiting(s, session, ctx) if "capacity" in changed else []
        people = [r.user_id for r in await repo.active_registrations(s, session.id)]
        summary = await repo.session_summary(s, session.id)
    assert summary is not None
    ctx.plans.changed(session.id)
    details = session_details(ctx, summary)
    key = "coordination.changed" if changed else "coordination.unchanged"
    await ctx.reply(Message.join([ctx.t(key, ref=f"#{session.id}"), details]))
    if notify and people:
        await ctx.notify(session.room_id, people, "coordination.changed_notice", ref=f"#{session.id}",
                         title=session.title, details=details)
    await tell_promoted(ctx, session, promoted)


@router.command("termin absagen", aliases=("session cancel",), help="help.session_cancel", role=Role.COORDINATOR)
async def cancel_session(ctx: Context, args: str) -> None:
    number, reason = require_ref(args, f"{ctx.prefix}termin absagen #N Grund")
    async with ctx.db.transaction() as s:
        await repo.lock_session(s, number)
        session = await find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        check_open(session, ctx.now)
        session.status, session.cancel_reason = SessionStatus.CANCELLED, reason or None
        session.sequence += 1
        s.add(session)
        await plan_session(s, session, ctx.config, ctx.now)
        people = [r.user_id for r in await repo.active_registrations(s, session.id)]
    ctx.plans.changed(session.id)
    because = ctx.t("coordination.reason", reason=reason) if reason else ""
    await ctx.reply("coordination.cancelled", ref=f"#{session.id}", title=session.title, count=len(people))
    if people:
        await ctx.notify(session.room_id, people, "coordination.cancelled_notice", ref=f"#{session.id}",
                         title=session.title, reason=because)


@router.command("teilnehmer", aliases=("teilnehmende", "participants"), help="help.participants",
                role=Role.COORDINATOR)
async def participants(ctx: Context, args: str) -> None:
    number, _ = require_ref(args, f"{ctx.prefix}teilnehmer #N")
    async with ctx.db.transaction() as s:
        session = await find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        rows = await repo.active_registrations(s, session.id)
    seats = repo.seats(rows)
    registered, waiting = len(waitlist.registered(seats)), len(waitlist.waiting(seats))
    municipalities = len({r.municipality for r in rows if r.municipality})
    if not rows:
        await ctx.reply("coordination.participants_none", ref=f"#{session.id}", title=session.title)
        return
    people = [participants_file.Participant(
        name=ctx.outbox.display_name(session.room_id, r.user_id) or r.user_id, user_id=r.user_id,
        municipality=r.municipality, status=r.status, position=waitlist.waitlist_position(seats, r.user_id),
        registered_at=r.queued_at) for r in rows]
    direct = await ctx.outbox.direct_room(ctx.sender)
    await ctx.send_file(direct, participants_file.participants_csv(people, ctx.config.timezone),
                        participants_file.filename(session.id), "text/csv")
    await ctx.reply("coordination.participants", ref=f"#{session.id}", title=session.title,
                    registered=registered, waiting=waiting, municipalities=municipalities)
