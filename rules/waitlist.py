"""Capacity and waiting-list rules: pure decisions over a session's active registrations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rules.states import RegistrationStatus


@dataclass(frozen=True)
class Seat:
    """One active registration as the rules see it."""

    user_id: str
    status: RegistrationStatus
    queued_at: datetime


@dataclass(frozen=True)
class Placement:
    """Where a new registration goes: a place, or the waiting list at `position` (1-based)."""

    status: RegistrationStatus
    position: int | None = None


def registered(seats: list[Seat]) -> list[Seat]:
    return [s for s in seats if s.status == RegistrationStatus.REGISTERED]


def waiting(seats: list[Seat]) -> list[Seat]:
    """The waiting list in the order people joined it."""
    return sorted((s for s in seats if s.status == RegistrationStatus.WAITLISTED), key=lambda s: s.queued_at)


def places_left(capacity: int | None, seats: list[Seat]) -> int | None:
    """Free places, or None when the session has no limit."""
    return None if capacity is None else max(capacity - len(registered(seats)), 0)


def waitlist_position(seats: list[Seat], user_id: str) -> int | None:
    for position, seat in enumerate(waiting(seats), start=1):
        if seat.user_id == user_id:
            return position
    return None


def place(capacity: int | None, seats: list[Seat]) -> Placement:
    """Where the next person to register goes."""
    if places_left(capacity, seats) != 0:
        return Placement(RegistrationStatus.REGISTERED)
    return Placement(RegistrationStatus.WAITLISTED, len(waiting(seats)) + 1)


def promotions(capacity: int | None, seats: list[Seat]) -> list[str]:
    """Who moves up from the waiting list, first come first served, given the free places."""
    queue = waiting(seats)
    free = len(queue) if capacity is None else max(capacity - len(registered(seats)), 0)
    return [seat.user_id for seat in queue[:free]]
