"""Registration: !anmelden, !abmelden, !meine — with capacity and a waiting list."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context, Router
from bot.i18n import Message
from commands import waitlist
from commands.dates import format_short, format_when
from commands.errors import UserError
from commands.sessions import check_open, find_session, parse_ref
from storage import repo
from storage.models import PersonSettings, Registration, RegistrationStatus, Session

router = Router("registration")
MAX_MUNICIPALITY = 100
SWITCH = {"an": True, "ein": True, "ja": True, "on": True, "aus": False, "nein": False, "off": False}


async def choose_session(ctx: Context, s: AsyncSession, number: int | None) -> Session:
    """The session named by #N, or the one open session; asks which when there are several."""
    if number is not None:
        return await find_session(s, number)
    candidates = await repo.open_sessions(s, ctx.now)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UserError("registration.no_open_session")
    choices = ", ".join(f"#{c.id} {c.title}" for c in candidates[:10])
    raise UserError("registration.which_session", choices=choices)


def _when(ctx: Context, session: Session) -> str:
    return format_when(session.starts_at, session.ends_at, ctx.config.timezone, ctx.language)


@router.command("anmelden", aliases=("register",), help="help.register")
async def register(ctx: Context, args: str) -> None:
    number, municipality = parse_ref(args)
    if len(municipality) > MAX_MUNICIPALITY:
        raise UserError("registration.municipality_too_long", maximum=MAX_MUNICIPALITY)
    async with ctx.db.transaction() as s:
        session = await choose_session(ctx, s, number)
        await repo.lock_session(s, session.id)
        check_open(session, ctx.now)
        if session.registration_deadline and session.registration_deadline <= ctx.now:
            raise UserError("registration.deadline_passed", ref=f"#{session.id}", title=session.title,
                            deadline=format_short(session.registration_deadline, ctx.config.timezone,
                                                  ctx.language))
        current = await repo.active_registrations(s, session.id)
        seats = repo.seats(current)
        mine = next((r for r in current if r.user_id == ctx.sender), None)
        if mine is not None and ctx.by_reaction:  # taking this ✅ back will withdraw the registration
            mine.reaction_event_id = ctx.event_id
            await repo.save(s, mine)
        if mine is None:
            placement = waitlist.place(session.capacity, seats)
            row = await repo.registration(s, session.id, ctx.sender) or Registration(
                session_id=session.id, user_id=ctx.sender, status=placement.status,
                queued_at=ctx.now, updated_at=ctx.now)
            row.status, row.queued_at, row.updated_at = placement.status, ctx.now, ctx.now
            row.municipality = municipality or row.municipality
            row.reaction_event_id = ctx.event_id if ctx.by_reaction else None
            await repo.save(s, row)
            first_time = await note_privacy_notice(s, ctx)
    if mine is not None:
        if mine.status == RegistrationStatus.REGISTERED:
            raise UserError("registration.already_registered", ref=f"#{session.id}", title=session.title)
        raise UserError("registration.already_waiting", ref=f"#{session.id}", title=session.title,
                        position=waitlist.waitlist_position(seats, ctx.sender))
    ctx.plans.places_changed(session.id)
    if placement.status == RegistrationStatus.REGISTERED:
        answer = ctx.t("registration.confirmed", ref=f"#{session.id}", title=session.title, when=_when(ctx, session))
    else:
        answer = ctx.t("registration.waitlisted", ref=f"#{session.id}", title=session.title,
                       position=placement.position)
    if first_time:
        answer = Message.join([answer, ctx.t("privacy.notice", days=ctx.config.retention_days)])
    await ctx.reply(answer)


async def note_privacy_notice(s: AsyncSession, ctx: Context) -> bool:
    """True (and remembered) when the sender has not yet been shown the privacy notice."""
    settings = await repo.person_settings(s, ctx.sender) or PersonSettings(user_id=ctx.sender, updated_at=ctx.now)
    if settings.privacy_notice_at is not None:
        return False
    settings.privacy_notice_at = ctx.now
    await repo.save_settings(s, settings)
    return True


@router.command("abmelden", aliases=("unregister", "cancel"), help="help.unregister")
async def unregister(ctx: Context, args: str) -> None:
    number, _ = parse_ref(args)
    async with ctx.db.transaction() as s:
        if number is None:
            mine = [m for m in await repo.my_registrations(s, ctx.sender, ctx.now) if m.session.starts_at > ctx.now]
            if not mine:
                raise UserError("registration.nothing_to_cancel")
            if len(mine) > 1:
                choices = ", ".join(f"#{m.session.id} {m.session.title}" for m in mine[:10])
                raise UserError("registration.which_to_cancel", choices=choices)
            number = mine[0].session.id
        session = await find_session(s, number)
        await repo.lock_session(s, session.id)
        check_open(session, ctx.now)
        row = await repo.registration(s, session.id, ctx.sender)
        if row is None or row.status == RegistrationStatus.CANCELLED:
            raise UserError("registration.not_registered", ref=f"#{session.id}", title=session.title)
        was_waiting = row.status == RegistrationStatus.WAITLISTED
        row.status, row.updated_at, row.reaction_event_id = RegistrationStatus.CANCELLED, ctx.now, None
        await repo.save(s, row)
        promoted = await promote_waiting(s, session, ctx)
    ctx.plans.places_changed(session.id)
    key = "registration.left_waitlist" if was_waiting else "registration.cancelled"
    await ctx.reply(key, ref=f"#{session.id}", title=session.title)
    await tell_promoted(ctx, session, promoted)


async def promote_waiting(s: AsyncSession, session: Session, ctx: Context) -> list[str]:
    """Move people up from the waiting list into free places; returns who moved up."""
    current = await repo.active_registrations(s, session.id)
    promoted = waitlist.promotions(session.capacity, repo.seats(current))
    for moved in (r for r in current if r.user_id in promoted):
        moved.status, moved.updated_at = RegistrationStatus.REGISTERED, ctx.now
        await repo.save(s, moved)
    return promoted


async def tell_promoted(ctx: Context, session: Session, promoted: list[str]) -> None:
    if promoted:
        await ctx.notify(session.room_id, promoted, "registration.promoted", ref=f"#{session.id}",
                         title=session.title, when=_when(ctx, session))


@router.command("meine", aliases=("mine",), help="help.mine")
async def mine(ctx: Context, args: str) -> None:
    async with ctx.db.transaction() as s:
        rows = await repo.my_registrations(s, ctx.sender, ctx.now)
    if not rows:
        await ctx.reply("registration.mine_none")
        return
    lines = [ctx.t("registration.mine_head")]
    for row in rows:
        date = format_short(row.session.starts_at, ctx.config.timezone, ctx.language)
        if row.status == RegistrationStatus.REGISTERED:
            lines.append(ctx.t("registration.mine_registered", ref=f"#{row.session.id}", date=date,
                               title=row.session.title))
        else:
            lines.append(ctx.t("registration.mine_waiting", ref=f"#{row.session.id}", date=date,
                               title=row.session.title, position=row.position))
    await ctx.reply(Message.join(lines))


@router.command("erinnerung", aliases=("erinnerungen", "reminders"), help="help.reminders")
async def reminders(ctx: Context, args: str) -> None:
    """Reminders by direct message, for every session one is registered for: on, off, or as it is."""
    choice = args.strip().lower()
    if choice and choice not in SWITCH:
        raise UserError("registration.reminders_usage")
    async with ctx.db.transaction() as s:
        settings = await repo.person_settings(s, ctx.sender) or PersonSettings(user_id=ctx.sender, updated_at=ctx.now)
        if choice:
            settings.dm_reminders, settings.updated_at = SWITCH[choice], ctx.now
            await repo.save_settings(s, settings)
    state = "on" if settings.dm_reminders else "off"
    await ctx.reply(f"registration.reminders_{state}" if choice else f"registration.reminders_now_{state}")
