"""Registration: !anmelden, !abmelden, !meine, !erinnerung — with capacity and a waiting list;
✅ on an announcement registers, taking the ✅ back withdraws. The use cases are in
`services.registration`, `services.leaving` and `services.personal`."""

from __future__ import annotations

from bot.arguments import Target
from bot.context import Context
from rules.errors import UserError
from rules.i18n import Message
from rules.series import grouped_lines, series_ref
from rules.sessions import about, ref
from rules.states import RegistrationStatus
from services.leaving import Leaving, LeavingOutcome, SeriesLeft, leave, leave_series, withdraw
from services.municipalities import typed_municipality
from services.personal import my_registrations, set_reminders
from services.registration import (
    EnrolmentOutcome,
    Registered,
    SeriesRegistered,
    register,
    register_series,
)
from storage import registrations
from storage.models import PlannedMessage, Registration, Series, Session

# Reactions on an announcement that register (with and without the emoji variation selector).

ENROLMENT_ANSWERS = {
    EnrolmentOutcome.CONFIRMED: "registration.confirmed",
    EnrolmentOutcome.WAITLISTED: "registration.waitlisted",
    EnrolmentOutcome.ALREADY_REGISTERED: "registration.already_registered",
    EnrolmentOutcome.ALREADY_WAITING: "registration.already_waiting",
}
LEAVING_ANSWERS = {
    LeavingOutcome.CANCELLED: "registration.cancelled",
    LeavingOutcome.LEFT_WAITLIST: "registration.left_waitlist",
    LeavingOutcome.NOT_REGISTERED: "registration.not_registered",
}
# What became of one part of a series, in the answer about the whole series.
PART_OUTCOMES: dict[EnrolmentOutcome | LeavingOutcome, str] = {
    EnrolmentOutcome.CONFIRMED: "series.outcome_confirmed",
    EnrolmentOutcome.WAITLISTED: "series.outcome_waitlisted",
    EnrolmentOutcome.ALREADY_REGISTERED: "series.outcome_already_registered",
    EnrolmentOutcome.ALREADY_WAITING: "series.outcome_already_waiting",
    EnrolmentOutcome.DEADLINE_PASSED: "series.outcome_deadline_passed",
    LeavingOutcome.CANCELLED: "series.outcome_cancelled",
    LeavingOutcome.LEFT_WAITLIST: "series.outcome_left_waitlist",
}
REMINDER_ANSWERS = {
    (True, True): "registration.reminders_on",
    (True, False): "registration.reminders_off",
    (False, True): "registration.reminders_now_on",
    (False, False): "registration.reminders_now_off",
}


async def register_command(ctx: Context, target: Target | None, municipality: str) -> None:
    """`!anmelden #N` (or without a number: the one session open here) or `!anmelden Reihe N`.
    The municipality typed here, else the one given with `!kommune`, is recorded with the
    registration as it is now."""
    if target is not None and target.series:
        if municipality:
            municipality, _ = typed_municipality(ctx, municipality, f"{ctx.prefix}anmelden {series_ref(target.number)}")
        await enrol_in_series(ctx, target.number, municipality)
        return
    number = target.number if target else None
    if municipality:
        retry = f"{ctx.prefix}anmelden {ref(number)}" if number is not None else f"{ctx.prefix}anmelden"
        municipality, _ = typed_municipality(ctx, municipality, retry)
    await enrol_in_session(ctx, number, municipality)


async def register_by_reaction(ctx: Context, announcement: PlannedMessage) -> None:
    """✅ on an announcement: like `!anmelden #N` (answered by direct message)."""
    await enrol_in_session(ctx, announcement.session_id, "")


async def register_series_by_reaction(ctx: Context, announced: Series) -> None:
    """✅ on a series' announcement: like `!anmelden Reihe N` (answered by direct message)."""
    await enrol_in_series(ctx, announced.number, "")


async def enrol_in_session(ctx: Context, number: int | None, municipality: str) -> None:
    """Register for one session and answer (a registration held already is refused, unless a ✅
    asked: then the ✅ now stands for it, and that is said)."""
    reaction = ctx.event_id if ctx.by_reaction else None
    async with ctx.join_batch() as s:
        outcome = await register(ctx, s, number, municipality, reaction=reaction)
    enrolment = outcome.enrolment
    key = ENROLMENT_ANSWERS[enrolment.outcome]
    if not enrolment.new:
        if ctx.by_reaction:
            await ctx.reply(key, **about(enrolment.session), position=enrolment.position)
            return
        raise UserError(key, **about(enrolment.session), position=enrolment.position)
    session = enrolment.session
    when = ctx.when(session.starts_at, session.ends_at)
    answer = ctx.t(key, **about(session), when=when, position=enrolment.position)
    await ctx.reply(with_privacy_notice(ctx, answer, outcome))


async def enrol_in_series(ctx: Context, number: int, municipality: str) -> None:
    """Register for every part of a series still ahead: one answer naming each."""
    reaction = ctx.event_id if ctx.by_reaction else None
    async with ctx.join_batch() as s:
        outcome = await register_series(ctx, s, number, municipality, reaction=reaction)
    found = outcome.series
    lines = [ctx.t("series.registered_head", ref=series_ref(found.id), title=found.title)]
    lines.extend(part_line(ctx, e.session, e.outcome, e.position) for e in outcome.enrolments)
    lines.append(ctx.t("series.registered_foot", ref=series_ref(found.id)))
    await ctx.reply(with_privacy_notice(ctx, Message.join(lines), outcome))


def with_privacy_notice(ctx: Context, answer: Message, outcome: Registered | SeriesRegistered) -> Message:
    """The answer, with the privacy notice after it on a person's first registration."""
    if not outcome.privacy_notice:
        return answer
    return Message.join([answer, ctx.t("privacy.notice", days=ctx.config.retention_days)])


def part_line(
    ctx: Context, session: Session, outcome: EnrolmentOutcome | LeavingOutcome, position: int | None = None
) -> Message:
    """One part of a series and what became of the sender's registration for it."""
    said = ctx.t(PART_OUTCOMES[outcome], position=position)
    return ctx.t("series.outcome", **about(session), date=ctx.short(session.starts_at), outcome=said)


async def unregister_command(ctx: Context, target: Target | None) -> None:
    """`!abmelden #N` (without a number: the one session one is registered for) or `!abmelden Reihe N`."""
    async with ctx.join_batch() as s:
        if target is not None and target.series:
            left: Leaving | SeriesLeft = await leave_series(ctx, s, target.number)
        else:
            left = await leave(ctx, s, target.number if target else None)
    await left_answer(ctx, left)


async def withdraw_by_reaction(ctx: Context, registration: Registration) -> None:
    """Taking back the ✅ that registered someone: like `!abmelden #N` (only for that person); the
    ✅ on a series' announcement stood for every part it registered for."""
    if registration.reaction_event_id is None:
        return
    async with ctx.join_batch() as s:
        left = await withdraw(ctx, s, registration.reaction_event_id)
    if left is not None:
        await left_answer(ctx, left)


async def left_answer(ctx: Context, left: Leaving | SeriesLeft) -> None:
    if isinstance(left, Leaving):
        await ctx.reply(LEAVING_ANSWERS[left.outcome], **about(left.session))
        return
    lines = [ctx.t("series.left_head", ref=series_ref(left.series.id), title=left.series.title)]
    lines.extend(part_line(ctx, leaving.session, leaving.outcome) for leaving in left.left)
    await ctx.reply(Message.join(lines))


async def mine(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        held = await my_registrations(ctx, s)
    if not held.rows:
        await ctx.reply("registration.mine_none")
        return
    lines = grouped_lines(
        ctx, held.rows, lambda row: row.session.series_id, held.series_titles, lambda row: mine_line(ctx, row)
    )
    await ctx.reply(Message.join([ctx.t("registration.mine_head"), *lines]))


def mine_line(ctx: Context, row: registrations.MyRegistration) -> Message:
    date = ctx.short(row.session.starts_at)
    if row.status == RegistrationStatus.REGISTERED:
        return ctx.t("registration.mine_registered", **about(row.session), date=date)
    return ctx.t("registration.mine_waiting", **about(row.session), date=date, position=row.position)


async def reminders(ctx: Context, choice: bool | None) -> None:
    """Reminders by direct message, for every session one is registered for: on, off, or as it is."""
    async with ctx.join_batch() as s:
        on = await set_reminders(ctx, s, choice)
    await ctx.reply(REMINDER_ANSWERS[(choice is not None, on)])
