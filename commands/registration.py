"""Registration: !anmelden, !abmelden, !meine, !erinnerung — with capacity and a waiting list;
✅ on an announcement registers, taking the ✅ back withdraws."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.arguments import Choice, Rest, SessionRef
from bot.context import Context
from bot.routing import Router
from commands.municipalities import MAX_MUNICIPALITY, typed_municipality
from commands.notices import tell_promoted
from rules import waitlist
from rules.errors import UserError
from rules.i18n import Message
from rules.sessions import about, check_open, ref
from storage import municipalities, people, planned, registrations, sessions
from storage.models import PlannedMessage, Registration, RegistrationStatus, Session
from storage.rows import save

router = Router("registration")
SWITCH = {"an": True, "ein": True, "ja": True, "on": True, "aus": False, "nein": False, "off": False}
# Reactions on an announcement that register (with and without the emoji variation selector).
REGISTER_REACTIONS = frozenset({"✅", "✅\ufe0f", "✔️", "✔", "☑️", "☑"})


async def choose_session(ctx: Context, s: AsyncSession, number: int | None) -> Session:
    """The session named by #N, or the one open session; asks which when there are several."""
    if number is not None:
        return await ctx.find_session(s, number)
    candidates = await sessions.open_sessions(s, ctx.now, ctx.scope())
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UserError("registration.no_open_session")
    choices = ", ".join(f"{ref(c.id)} {c.title}" for c in candidates[:10])
    raise UserError("registration.which_session", choices=choices)


@router.command(
    "anmelden",
    aliases=("register",),
    help="help.register",
    args=[
        SessionRef(required=False),
        Rest(
            "municipality",
            "args.municipality",
            required=False,
            maximum=MAX_MUNICIPALITY,
            too_long="registration.municipality_too_long",
        ),
    ],
)
async def register(ctx: Context, number: int | None, municipality: str) -> None:
    """Register for a session; the municipality typed here, else the one given with `!kommune`, is
    recorded with the registration as it is now (so statistics stay right when a person moves)."""
    if municipality:
        retry = f"{ctx.prefix}anmelden {ref(number)}" if number is not None else f"{ctx.prefix}anmelden"
        municipality, _ = typed_municipality(ctx, municipality, retry)
    async with ctx.db.transaction() as s:
        session = await choose_session(ctx, s, number)
        await sessions.lock_session(s, session.number)
        check_open(session, ctx.now)
        if session.registration_deadline and session.registration_deadline <= ctx.now:
            raise UserError(
                "registration.deadline_passed", **about(session), deadline=ctx.short(session.registration_deadline)
            )
        current = await registrations.active_registrations(s, session.number)
        seats = registrations.seats(current)
        mine = next((r for r in current if r.user_id == ctx.sender), None)
        if mine is not None and ctx.by_reaction:  # taking this ✅ back will withdraw the registration
            mine.reaction_event_id = ctx.event_id
            await save(s, mine)
        if mine is None:
            placement = waitlist.place(session.capacity, seats)
            row = await registrations.registration(s, session.number, ctx.sender) or Registration(
                session_id=session.number,
                user_id=ctx.sender,
                status=placement.status,
                queued_at=ctx.now,
                updated_at=ctx.now,
            )
            row.status, row.queued_at, row.updated_at = placement.status, ctx.now, ctx.now
            row.municipality = municipality or await municipalities.municipality_of(s, ctx.sender) or row.municipality
            row.reaction_event_id = ctx.event_id if ctx.by_reaction else None
            await save(s, row)
            first_time = await note_privacy_notice(s, ctx)
    if mine is not None:
        registered = mine.status == RegistrationStatus.REGISTERED
        key = "registration.already_registered" if registered else "registration.already_waiting"
        position = waitlist.waitlist_position(seats, ctx.sender)
        if ctx.by_reaction:  # said, not refused: the new ✅ now stands for the registration
            await ctx.reply(key, **about(session), position=position)
            return
        raise UserError(key, **about(session), position=position)
    ctx.plans.places_changed(session.number)
    if placement.status == RegistrationStatus.REGISTERED:
        answer = ctx.t("registration.confirmed", **about(session), when=ctx.when(session.starts_at, session.ends_at))
    else:
        answer = ctx.t("registration.waitlisted", **about(session), position=placement.position)
    if first_time:
        answer = Message.join([answer, ctx.t("privacy.notice", days=ctx.config.retention_days)])
    await ctx.reply(answer)


@router.reaction(REGISTER_REACTIONS, on=planned.announcement_by_event)
async def register_by_reaction(ctx: Context, announcement: PlannedMessage) -> None:
    """✅ on an announcement: like `!anmelden #N` (answered by direct message)."""
    await register(ctx, announcement.session_id, "")


async def note_privacy_notice(s: AsyncSession, ctx: Context) -> bool:
    """True (and remembered) when the sender has not yet been shown the privacy notice."""
    settings = await people.settings_for(s, ctx.sender, ctx.now)
    if settings.privacy_notice_at is not None:
        return False
    settings.privacy_notice_at = ctx.now
    await save(s, settings)
    return True


@router.command("abmelden", aliases=("unregister", "cancel"), help="help.unregister", args=[SessionRef(required=False)])
async def unregister(ctx: Context, number: int | None) -> None:
    async with ctx.db.transaction() as s:
        if number is None:
            mine = [
                m for m in await registrations.my_registrations(s, ctx.sender, ctx.now) if m.session.starts_at > ctx.now
            ]
            if not mine:
                raise UserError("registration.nothing_to_cancel")
            if len(mine) > 1:
                choices = ", ".join(f"{ref(m.session.id)} {m.session.title}" for m in mine[:10])
                raise UserError("registration.which_to_cancel", choices=choices)
            number = mine[0].session.id
            assert number is not None
        session = await ctx.find_session(s, number)
        await sessions.lock_session(s, session.number)
        check_open(session, ctx.now)
        row = await registrations.registration(s, session.number, ctx.sender)
        if row is None or row.status == RegistrationStatus.CANCELLED:
            raise UserError("registration.not_registered", **about(session))
        was_waiting = row.status == RegistrationStatus.WAITLISTED
        row.status, row.updated_at, row.reaction_event_id = RegistrationStatus.CANCELLED, ctx.now, None
        await save(s, row)
        promoted = await registrations.promote_waiting(s, session, ctx.now)
    ctx.plans.places_changed(session.number)
    key = "registration.left_waitlist" if was_waiting else "registration.cancelled"
    await ctx.reply(key, **about(session))
    tell_promoted(ctx, session, promoted)


@router.redaction(on=registrations.registration_by_reaction)
async def withdraw_by_reaction(ctx: Context, registration: Registration) -> None:
    """Taking back the ✅ that registered someone: like `!abmelden #N` (only for that person)."""
    if registration.user_id == ctx.sender:
        await unregister(ctx, registration.session_id)


@router.command("meine", aliases=("mine",), help="help.mine")
async def mine(ctx: Context) -> None:
    async with ctx.db.transaction() as s:
        rows = await registrations.my_registrations(s, ctx.sender, ctx.now)
    if not rows:
        await ctx.reply("registration.mine_none")
        return
    lines = [ctx.t("registration.mine_head")]
    for row in rows:
        date = ctx.short(row.session.starts_at)
        if row.status == RegistrationStatus.REGISTERED:
            lines.append(ctx.t("registration.mine_registered", **about(row.session), date=date))
        else:
            lines.append(ctx.t("registration.mine_waiting", **about(row.session), date=date, position=row.position))
    await ctx.reply(Message.join(lines))


@router.command(
    "erinnerung",
    aliases=("erinnerungen", "reminders"),
    help="help.reminders",
    args=[Choice("choice", "args.switch", required=False, choices=SWITCH, invalid="registration.reminders_usage")],
)
async def reminders(ctx: Context, choice: bool | None) -> None:
    """Reminders by direct message, for every session one is registered for: on, off, or as it is."""
    async with ctx.db.transaction() as s:
        settings = await people.settings_for(s, ctx.sender, ctx.now)
        if choice is not None:
            settings.dm_reminders, settings.updated_at = choice, ctx.now
            await save(s, settings)
    state = "off" if settings.dm_reminders is False else "on"
    await ctx.reply(f"registration.reminders_{state}" if choice is not None else f"registration.reminders_now_{state}")
