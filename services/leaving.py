"""Leaving: one session, every part of a series still ahead, or what a ✅ registered for when it is
taken back. A freed place goes to the next person waiting, who is told privately."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from rules.errors import UserError
from rules.series import series_ref
from rules.sessions import about, check_open, ref
from rules.states import RegistrationStatus
from services.notices import tell_promoted
from storage import registrations, series, sessions
from storage.models import Series, Session
from storage.rows import save


class LeavingOutcome(Enum):
    """What became of a person's registration for one session they left."""

    CANCELLED = "cancelled"  # the place is given up
    LEFT_WAITLIST = "left_waitlist"
    NOT_REGISTERED = "not_registered"


@dataclass(frozen=True)
class Leaving:
    """Leaving one session: the outcome, and who moved up into the freed place (already told)."""

    session: Session
    outcome: LeavingOutcome
    promoted: list[str]


@dataclass(frozen=True)
class SeriesLeft:
    """Leaving a series: one `Leaving` for each part the person was registered for."""

    series: Series
    left: list[Leaving]


async def leave(act: Acting, s: AsyncSession, number: int | None) -> Leaving:
    """Give up the place (or waiting position) in session #number; without a number, in the one
    session ahead the person is registered for. Refused when they are not registered."""
    session = await act.find_session(s, number if number is not None else await only_registration(act, s))
    leaving = await leave_session(act, s, session)
    if leaving.outcome == LeavingOutcome.NOT_REGISTERED:
        raise UserError("registration.not_registered", **about(session))
    return leaving


async def leave_series(act: Acting, s: AsyncSession, number: int, only: set[int] | None = None) -> SeriesLeft:
    """Every part of series number N still ahead (or only the sessions numbered in `only`) that
    the person is registered for. Refused when that is none."""
    found = await act.find_series(s, number)
    parts = [p for p in await series.parts_ahead(s, found.number, act.now) if only is None or p.number in only]
    outcomes = [await leave_session(act, s, part) for part in parts]
    left = [x for x in outcomes if x.outcome != LeavingOutcome.NOT_REGISTERED]
    if not left:
        raise UserError("series.not_registered", ref=series_ref(found.id), title=found.title)
    return SeriesLeft(found, left)


async def withdraw(act: Acting, s: AsyncSession, reaction: str) -> Leaving | SeriesLeft | None:
    """The ✅ `reaction` that registered the person is taken back: leave what it registered for
    (on a series' announcement, every part it stood for). None when it registered nobody, or
    someone else (a redaction by a room's moderator is no withdrawal)."""
    rows = [r for r in await registrations.registrations_by_reaction(s, reaction) if r.user_id == act.sender]
    if not rows:
        return None
    session = await sessions.get_session(s, rows[0].session_id)
    if len(rows) > 1 and session is not None and session.series_id is not None:
        return await leave_series(act, s, session.series_id, only={r.session_id for r in rows})
    return await leave(act, s, rows[0].session_id)


async def only_registration(act: Acting, s: AsyncSession) -> int:
    """The number of the one session ahead the person is registered for; asks which when there are several."""
    mine = [m for m in await registrations.my_registrations(s, act.sender, act.now) if m.session.starts_at > act.now]
    if not mine:
        raise UserError("registration.nothing_to_cancel")
    if len(mine) > 1:
        choices = ", ".join(f"{ref(m.session.id)} {m.session.title}" for m in mine[:10])
        raise UserError("registration.which_to_cancel", choices=choices)
    return mine[0].session.number


async def leave_session(act: Acting, s: AsyncSession, session: Session) -> Leaving:
    """Cancel the sender's place (or waiting position) in one session that is still ahead."""
    await sessions.lock_session(s, session.number)
    check_open(session, act.now)
    row = await registrations.registration(s, session.number, act.sender)
    if row is None or row.status == RegistrationStatus.CANCELLED:
        return Leaving(session, LeavingOutcome.NOT_REGISTERED, [])
    was_waiting = row.status == RegistrationStatus.WAITLISTED
    row.status, row.updated_at, row.reaction_event_id = RegistrationStatus.CANCELLED, act.now, None
    await save(s, row)
    promoted = await registrations.promote_waiting(s, session, act.now)
    act.plans.places_changed(session.number)
    tell_promoted(act, session, promoted)
    return Leaving(session, LeavingOutcome.LEFT_WAITLIST if was_waiting else LeavingOutcome.CANCELLED, promoted)
