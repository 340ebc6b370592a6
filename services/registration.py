"""Registering: for one session (by command, by ✅ on its announcement, or by a form) or for every
part of a series still ahead — a place, or the waiting list — and the privacy notice shown with a
person's first registration."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from rules import waitlist
from rules.errors import UserError
from rules.series import series_ref
from rules.sessions import about, check_open, ref
from rules.states import RegistrationStatus
from storage import municipalities, people, registrations, series, sessions
from storage.models import Registration, Series, Session
from storage.rows import save


class EnrolmentOutcome(Enum):
    """What became of a registration for one session."""

    CONFIRMED = "confirmed"  # a place, taken now
    WAITLISTED = "waitlisted"  # a waiting position, taken now
    ALREADY_REGISTERED = "already_registered"
    ALREADY_WAITING = "already_waiting"
    DEADLINE_PASSED = "deadline_passed"


@dataclass(frozen=True)
class Enrolment:
    """Registering for one session: the outcome, and the position on the waiting list where one waits."""

    session: Session
    outcome: EnrolmentOutcome
    position: int | None = None

    @property
    def new(self) -> bool:
        """A place or a waiting position was taken now."""
        return self.outcome in (EnrolmentOutcome.CONFIRMED, EnrolmentOutcome.WAITLISTED)


@dataclass(frozen=True)
class Registered:
    """`register`'s outcome; `privacy_notice`: this was the person's first registration (show the notice)."""

    enrolment: Enrolment
    privacy_notice: bool


@dataclass(frozen=True)
class SeriesRegistered:
    """`register_series`' outcome: one enrolment per part still ahead."""

    series: Series
    enrolments: list[Enrolment]
    privacy_notice: bool


async def register(
    act: Acting, s: AsyncSession, number: int | None, municipality: str, *, reaction: str | None = None
) -> Registered:
    """A place in session #number, or the waiting list (without a number: the one session open
    where the person acts, see `choose_session`). `municipality`, else the one the person gave
    before, is recorded with the registration; `reaction` is the ✅ that registers (taking it back
    withdraws). Refused once the registration deadline has passed."""
    session = await choose_session(act, s, number)
    enrolment = await enrol(act, s, session, municipality, reaction)
    if enrolment.outcome == EnrolmentOutcome.DEADLINE_PASSED:
        deadline = session.registration_deadline
        shown = act.short(deadline) if deadline else ""
        raise UserError("registration.deadline_passed", **about(session), deadline=shown)
    return Registered(enrolment, enrolment.new and await note_privacy_notice(act, s))


async def register_series(
    act: Acting, s: AsyncSession, number: int, municipality: str, *, reaction: str | None = None
) -> SeriesRegistered:
    """Every part of series number N that is still ahead, each like `register`."""
    found = await act.find_series(s, number)
    parts = await series.parts_ahead(s, found.number, act.now)
    if not parts:
        raise UserError("series.nothing_ahead", ref=series_ref(found.id), title=found.title)
    enrolments = [await enrol(act, s, part, municipality, reaction) for part in parts]
    first_time = any(e.new for e in enrolments) and await note_privacy_notice(act, s)
    return SeriesRegistered(found, enrolments, first_time)


async def choose_session(act: Acting, s: AsyncSession, number: int | None) -> Session:
    """Session #number, or the one open session in the acting person's scope (in a region's room
    that region's; off the chat every official one); asks which when there are several."""
    if number is not None:
        return await act.find_session(s, number)
    candidates = await sessions.open_sessions(s, act.now, act.scope())
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UserError("registration.no_open_session")
    choices = ", ".join(f"{ref(c.id)} {c.title}" for c in candidates[:10])
    raise UserError("registration.which_session", choices=choices)


async def enrol(act: Acting, s: AsyncSession, session: Session, municipality: str, reaction: str | None) -> Enrolment:
    """Register the sender for one session that is still ahead (a place, or the waiting list)."""
    await sessions.lock_session(s, session.number)
    check_open(session, act.now)
    if session.registration_deadline and session.registration_deadline <= act.now:
        return Enrolment(session, EnrolmentOutcome.DEADLINE_PASSED)
    seats = await registrations.active_seats(s, session.number)
    mine = next((seat for seat in seats if seat.user_id == act.sender), None)
    if mine is not None:
        if reaction and (held := await registrations.registration(s, session.number, act.sender)):
            held.reaction_event_id = reaction  # taking this ✅ back will withdraw the registration
            await save(s, held)
        registered = mine.status == RegistrationStatus.REGISTERED
        outcome = EnrolmentOutcome.ALREADY_REGISTERED if registered else EnrolmentOutcome.ALREADY_WAITING
        return Enrolment(session, outcome, waitlist.waitlist_position(seats, act.sender))
    placement = waitlist.place(session.capacity, seats)
    row = await registrations.registration(s, session.number, act.sender) or Registration(
        session_id=session.number,
        user_id=act.sender,
        status=placement.status,
        queued_at=act.now,
        updated_at=act.now,
    )
    row.status, row.queued_at, row.updated_at = placement.status, act.now, act.now
    row.municipality = municipality or await municipalities.municipality_of(s, act.sender) or row.municipality
    row.reaction_event_id = reaction
    await save(s, row)
    act.plans.places_changed(session.number)
    waiting = placement.status == RegistrationStatus.WAITLISTED
    outcome = EnrolmentOutcome.WAITLISTED if waiting else EnrolmentOutcome.CONFIRMED
    return Enrolment(session, outcome, placement.position)


async def note_privacy_notice(act: Acting, s: AsyncSession) -> bool:
    """True (and remembered) when the sender has not yet been shown the privacy notice."""
    settings = await people.settings_for(s, act.sender, act.now)
    if settings.privacy_notice_at is not None:
        return False
    settings.privacy_notice_at = act.now
    await save(s, settings)
    return True
