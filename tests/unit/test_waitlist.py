"""Capacity and waiting-list rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules import waitlist
from rules.waitlist import Seat

T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


def seat(user: str, status: str, minutes: int) -> Seat:
    return Seat(f"@{user}:localhost", status, T0 + timedelta(minutes=minutes))


def test_places_until_full_then_waitlist_in_order():
    seats = [seat("a", "registered", 0), seat("b", "registered", 1)]
    assert waitlist.places_left(3, seats) == 1
    assert waitlist.place(3, seats) == waitlist.Placement("registered")
    assert waitlist.place(2, seats) == waitlist.Placement("waitlisted", 1)
    seats.append(seat("c", "waitlisted", 2))
    assert waitlist.place(2, seats) == waitlist.Placement("waitlisted", 2)


def test_unlimited_session_never_waitlists():
    seats = [seat(str(i), "registered", i) for i in range(500)]
    assert waitlist.places_left(None, seats) is None
    assert waitlist.place(None, seats).status == "registered"


def test_waitlist_position_follows_queue_time_not_list_order():
    seats = [seat("late", "waitlisted", 9), seat("early", "waitlisted", 3), seat("x", "registered", 0)]
    assert waitlist.waitlist_position(seats, "@early:localhost") == 1
    assert waitlist.waitlist_position(seats, "@late:localhost") == 2
    assert waitlist.waitlist_position(seats, "@x:localhost") is None


def test_promotion_fills_free_places_first_come_first_served():
    seats = [seat("a", "registered", 0), seat("w2", "waitlisted", 5), seat("w1", "waitlisted", 4)]
    assert waitlist.promotions(2, seats) == ["@w1:localhost"]
    assert waitlist.promotions(1, seats) == []
    assert waitlist.promotions(5, seats) == ["@w1:localhost", "@w2:localhost"]
    assert waitlist.promotions(None, seats) == ["@w1:localhost", "@w2:localhost"]
