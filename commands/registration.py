"""Registration: !anmelden, !abmelden, !meine, !erinnerung — with capacity and a waiting list;
✅ on an announcement registers, taking the ✅ back withdraws."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.arguments import Choice, Rest, SessionOrSeries, Target
from bot.context import Context
from bot.routing import Router
from rules import waitlist
from rules.errors import UserError
from rules.i18n import Message
from rules.series import grouped_lines, series_ref
from rules.sessions import about, check_open, ref
from services.municipalities import MAX_MUNICIPALITY, typed_municipality
from services.notices import tell_promoted
from storage import municipalities, people, planned, registrations, series, sessions
from storage.models import PlannedMessage, Registration, RegistrationStatus, Series, Session
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


@dataclass(frozen=True)
class Enrolment:
    """What registering for one session came to: `key` names the outcome in the catalogue
    (`registration.confirmed`, `…waitlisted`, `…already_registered`, `…already_waiting`,
    `…deadline_passed`); `new` is true when a place or a waiting position was taken now."""

    session: Session
    key: str
    position: int | None = None
    new: bool = False


async def enrol(ctx: Context, s: AsyncSession, session: Session, municipality: str) -> Enrolment:
    """Register the sender for one session that is still ahead (a place, or the waiting list)."""
    await sessions.lock_session(s, session.number)
    check_open(session, ctx.now)
    if session.registration_deadline and session.registration_deadline <= ctx.now:
        return Enrolment(session, "registration.deadline_passed")
    seats = await registrations.active_seats(s, session.number)
    mine = next((seat for seat in seats if seat.user_id == ctx.sender), None)
    if mine is not None:
        if ctx.by_reaction and (held := await registrations.registration(s, session.number, ctx.sender)):
            held.reaction_event_id = ctx.event_id  # taking this ✅ back will withdraw the registration
            await save(s, held)
        registered = mine.status == RegistrationStatus.REGISTERED
        key = "registration.already_registered" if registered else "registration.already_waiting"
        return Enrolment(session, key, waitlist.waitlist_position(seats, ctx.sender))
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
    ctx.plans.places_changed(session.number)
    waiting = placement.status == RegistrationStatus.WAITLISTED
    return Enrolment(
        session, "registration.waitlisted" if waiting else "registration.confirmed", placement.position, True
    )


@router.command(
    "anmelden",
    aliases=("register",),
    help="help.register",
    args=[
        SessionOrSeries(required=False),
        Rest(
            "municipality",
            "args.municipality",
            required=False,
            maximum=MAX_MUNICIPALITY,
            too_long="registration.municipality_too_long",
        ),
    ],
)
async def register_command(ctx: Context, target: Target | None, municipality: str) -> None:
    if target is not None and target.series:
        await register_series(ctx, target.number, municipality)
    else:
        await register(ctx, target.number if target else None, municipality)


async def register(ctx: Context, number: int | None, municipality: str) -> None:
    """`!anmelden #N`: a place in one session, or the waiting list. The municipality typed here,
    else the one given with `!kommune`, is recorded with the registration as it is now."""
    if municipality:
        retry = f"{ctx.prefix}anmelden {ref(number)}" if number is not None else f"{ctx.prefix}anmelden"
        municipality, _ = typed_municipality(ctx, municipality, retry)
    async with ctx.join_batch() as s:
        session = await choose_session(ctx, s, number)
        enrolment = await enrol(ctx, s, session, municipality)
        first_time = enrolment.new and await note_privacy_notice(s, ctx)
    if enrolment.key == "registration.deadline_passed":
        deadline = session.registration_deadline
        raise UserError(enrolment.key, **about(session), deadline=ctx.short(deadline) if deadline else "")
    if not enrolment.new:
        if ctx.by_reaction:  # said, not refused: the new ✅ now stands for the registration
            await ctx.reply(enrolment.key, **about(session), position=enrolment.position)
            return
        raise UserError(enrolment.key, **about(session), position=enrolment.position)
    answer = ctx.t(
        enrolment.key,
        **about(session),
        when=ctx.when(session.starts_at, session.ends_at),
        position=enrolment.position,
    )
    if first_time:
        answer = Message.join([answer, ctx.t("privacy.notice", days=ctx.config.retention_days)])
    await ctx.reply(answer)


async def register_series(ctx: Context, number: int, municipality: str) -> None:
    """`!anmelden Reihe N` (or ✅ on the series' announcement): every part still ahead, one answer."""
    if municipality:
        municipality, _ = typed_municipality(ctx, municipality, f"{ctx.prefix}anmelden {series_ref(number)}")
    async with ctx.join_batch() as s:
        found = await ctx.find_series(s, number)
        parts = await series.parts_ahead(s, found.number, ctx.now)
        if not parts:
            raise UserError("series.nothing_ahead", ref=series_ref(found.id), title=found.title)
        enrolments = [await enrol(ctx, s, part, municipality) for part in parts]
        first_time = any(e.new for e in enrolments) and await note_privacy_notice(s, ctx)
    lines = [ctx.t("series.registered_head", ref=series_ref(found.id), title=found.title)]
    lines.extend(outcome_line(ctx, e.session, e.key, e.position) for e in enrolments)
    lines.append(ctx.t("series.registered_foot", ref=series_ref(found.id)))
    if first_time:
        lines.append(ctx.t("privacy.notice", days=ctx.config.retention_days))
    await ctx.reply(Message.join(lines))


def outcome_line(ctx: Context, session: Session, key: str, position: int | None = None) -> Message:
    """One part of a series and what became of the sender's registration for it."""
    outcome = ctx.t(f"series.outcome_{key.rpartition('.')[2]}", position=position)
    return ctx.t("series.outcome", **about(session), date=ctx.short(session.starts_at), outcome=outcome)


@router.reaction(REGISTER_REACTIONS, on=planned.announcement_by_event)
async def register_by_reaction(ctx: Context, announcement: PlannedMessage) -> None:
    """✅ on an announcement: like `!anmelden #N` (answered by direct message)."""
    await register(ctx, announcement.session_id, "")


@router.reaction(REGISTER_REACTIONS, on=series.series_by_announcement)
async def register_series_by_reaction(ctx: Context, announced: Series) -> None:
    """✅ on a series' announcement: like `!anmelden Reihe N` (answered by direct message)."""
    await register_series(ctx, announced.number, "")


async def note_privacy_notice(s: AsyncSession, ctx: Context) -> bool:
    """True (and remembered) when the sender has not yet been shown the privacy notice."""
    settings = await people.settings_for(s, ctx.sender, ctx.now)
    if settings.privacy_notice_at is not None:
        return False
    settings.privacy_notice_at = ctx.now
    await save(s, settings)
    return True


@dataclass(frozen=True)
class Leaving:
    """What leaving one session came to: `key` names the outcome (`registration.cancelled`,
    `…left_waitlist`, `…not_registered`); `promoted` moved up into the freed place."""

    session: Session
    key: str
    promoted: list[str]


async def leave(ctx: Context, s: AsyncSession, session: Session) -> Leaving:
    """Cancel the sender's place (or waiting position) in one session that is still ahead."""
    await sessions.lock_session(s, session.number)
    check_open(session, ctx.now)
    row = await registrations.registration(s, session.number, ctx.sender)
    if row is None or row.status == RegistrationStatus.CANCELLED:
        return Leaving(session, "registration.not_registered", [])
    was_waiting = row.status == RegistrationStatus.WAITLISTED
    row.status, row.updated_at, row.reaction_event_id = RegistrationStatus.CANCELLED, ctx.now, None
    await save(s, row)
    promoted = await registrations.promote_waiting(s, session, ctx.now)
    ctx.plans.places_changed(session.number)
    return Leaving(session, "registration.left_waitlist" if was_waiting else "registration.cancelled", promoted)


@router.command(
    "abmelden", aliases=("unregister", "cancel"), help="help.unregister", args=[SessionOrSeries(required=False)]
)
async def unregister_command(ctx: Context, target: Target | None) -> None:
    if target is not None and target.series:
        await unregister_series(ctx, target.number)
    else:
        await unregister(ctx, target.number if target else None)


async def unregister(ctx: Context, number: int | None) -> None:
    """`!abmelden #N`: one session (without a number: the one a person is registered for)."""
    async with ctx.join_batch() as s:
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
        leaving = await leave(ctx, s, await ctx.find_session(s, number))
    if leaving.key == "registration.not_registered":
        raise UserError(leaving.key, **about(leaving.session))
    await ctx.reply(leaving.key, **about(leaving.session))
    tell_promoted(ctx, leaving.session, leaving.promoted)


async def unregister_series(ctx: Context, number: int, only: set[int] | None = None) -> None:
    """`!abmelden Reihe N`: every part still ahead (or only those of `only`), one answer."""
    async with ctx.join_batch() as s:
        found = await ctx.find_series(s, number)
        parts = [p for p in await series.parts_ahead(s, found.number, ctx.now) if only is None or p.number in only]
        left = [x for x in [await leave(ctx, s, part) for part in parts] if x.key != "registration.not_registered"]
    if not left:
        raise UserError("series.not_registered", ref=series_ref(found.id), title=found.title)
    lines = [ctx.t("series.left_head", ref=series_ref(found.id), title=found.title)]
    for leaving in left:
        lines.append(outcome_line(ctx, leaving.session, leaving.key))
        tell_promoted(ctx, leaving.session, leaving.promoted)
    await ctx.reply(Message.join(lines))


@router.redaction(on=registrations.registration_by_reaction)
async def withdraw_by_reaction(ctx: Context, registration: Registration) -> None:
    """Taking back the ✅ that registered someone: like `!abmelden #N` (only for that person); the
    ✅ on a series' announcement stood for every part it registered for."""
    if registration.user_id != ctx.sender or registration.reaction_event_id is None:
        return
    async with ctx.join_batch() as s:
        rows = await registrations.registrations_by_reaction(s, registration.reaction_event_id)
        session = await sessions.get_session(s, registration.session_id)
    if len(rows) > 1 and session is not None and session.series_id is not None:
        await unregister_series(ctx, session.series_id, only={r.session_id for r in rows})
    else:
        await unregister(ctx, registration.session_id)


@router.command("meine", aliases=("mine",), help="help.mine")
async def mine(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        rows = await registrations.my_registrations(s, ctx.sender, ctx.now)
        titles = await series.titles(s, {row.session.series_id for row in rows if row.session.series_id})
    if not rows:
        await ctx.reply("registration.mine_none")
        return
    lines = grouped_lines(ctx, rows, lambda row: row.session.series_id, titles, lambda row: mine_line(ctx, row))
    await ctx.reply(Message.join([ctx.t("registration.mine_head"), *lines]))


def mine_line(ctx: Context, row: registrations.MyRegistration) -> Message:
    date = ctx.short(row.session.starts_at)
    if row.status == RegistrationStatus.REGISTERED:
        return ctx.t("registration.mine_registered", **about(row.session), date=date)
    return ctx.t("registration.mine_waiting", **about(row.session), date=date, position=row.position)


@router.command(
    "erinnerung",
    aliases=("erinnerungen", "reminders"),
    help="help.reminders",
    args=[Choice("choice", "args.switch", required=False, choices=SWITCH, invalid="registration.reminders_usage")],
)
async def reminders(ctx: Context, choice: bool | None) -> None:
    """Reminders by direct message, for every session one is registered for: on, off, or as it is."""
    async with ctx.join_batch() as s:
        settings = await people.settings_for(s, ctx.sender, ctx.now)
        if choice is not None:
            settings.dm_reminders, settings.updated_at = choice, ctx.now
            await save(s, settings)
    state = "off" if settings.dm_reminders is False else "on"
    await ctx.reply(f"registration.reminders_{state}" if choice is not None else f"registration.reminders_now_{state}")
