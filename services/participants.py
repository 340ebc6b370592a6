"""The participant list of a session, for a coordinator of its room: a CSV file sent to the
coordinator's direct chat (names never go to a shared room), and the counts for the answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from rules import waitlist
from rules.cleaning import person_name
from rules.rendering import participants_file
from services.sessions import coordinated
from storage import registrations
from storage.models import Session


@dataclass(frozen=True)
class ParticipantCounts:
    """Who the list holds: people with a place, people waiting, and their distinct municipalities."""

    session: Session
    registered: int
    waiting: int
    municipalities: int

    @property
    def empty(self) -> bool:
        return self.registered + self.waiting == 0


async def participant_list(act: Acting, s: AsyncSession, number: int) -> ParticipantCounts:
    """Send the list of session #number to the sender privately (nothing when nobody registered)."""
    session = await coordinated(act, s, number)
    rows = await registrations.active_registrations(s, number)
    seats = registrations.seats(rows)
    counts = ParticipantCounts(
        session,
        registered=len(waitlist.registered(seats)),
        waiting=len(waitlist.waiting(seats)),
        municipalities=len({r.municipality for r in rows if r.municipality}),
    )
    if counts.empty:
        return counts
    people = [
        participants_file.Participant(
            name=person_name(act.rooms.display_name(session.room_id, r.user_id), r.user_id),
            user_id=r.user_id,
            municipality=r.municipality,
            status=r.status,
            position=waitlist.waitlist_position(seats, r.user_id),
            registered_at=r.queued_at,
        )
        for r in rows
    ]
    data = participants_file.participants_csv(people, act.timezone)
    act.send_file(data, participants_file.filename(number), "text/csv", to_user=act.sender)
    return counts
