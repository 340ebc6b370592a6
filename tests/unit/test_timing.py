"""When planned messages are due, how moves and cancellations change them, what happens when late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.timing import (
    Action,
    Change,
    Existing,
    Kind,
    Slot,
    Verdict,
    decide,
    due_before,
    reconcile,
    slot_of,
    starts_in,
    wanted_slots,
)

BERLIN = ZoneInfo("Europe/Berlin")
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
ANNOUNCE, REMIND = (14 * DAY, 2 * DAY), (DAY, 15 * MINUTE)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("start", "offset", "due"),
    [
        # an ordinary week: one day is 24 hours
        (berlin(2026, 12, 10, 14), DAY, berlin(2026, 12, 9, 14)),
        # spring forward (Sun 29 March 2026): the day before is 23 real hours earlier, same wall time
        (berlin(2026, 3, 29, 14), DAY, berlin(2026, 3, 28, 14)),
        # fall back (Sun 25 October 2026): 25 real hours, same wall time
        (berlin(2026, 10, 25, 14), DAY, berlin(2026, 10, 24, 14)),
        # 14 days across the spring change: still 14:00
        (berlin(2026, 4, 2, 14), 14 * DAY, berlin(2026, 3, 19, 14)),
        # minutes are elapsed time, also across the change: 03:10 CEST minus 15 min is 01:55 CET
        (berlin(2026, 3, 29, 3, 10), 15 * MINUTE, datetime(2026, 3, 29, 0, 55, tzinfo=UTC)),
        # hours too: 03:00 CET (after falling back) minus 2 h is 02:00 CEST, the first of the two 02:00s
        (datetime(2026, 10, 25, 2, tzinfo=UTC), 2 * HOUR, datetime(2026, 10, 25, 0, tzinfo=UTC)),
        # days and minutes together: the day on the wall clock, then the minutes
        (berlin(2026, 3, 30, 9), DAY + 30 * MINUTE, berlin(2026, 3, 29, 8, 30)),
    ],
)
def test_due_before_keeps_the_wall_clock_for_days_and_real_time_for_the_rest(start, offset, due):
    assert due_before(start.astimezone(UTC), offset, BERLIN) == due.astimezone(UTC)


def test_a_session_planned_well_ahead_gets_every_announcement_and_reminder():
    start = berlin(2026, 12, 10, 14).astimezone(UTC)
    now = berlin(2026, 11, 1, 9).astimezone(UTC)
    slots = wanted_slots(start, ANNOUNCE, REMIND, BERLIN, now)
    assert [(s.kind, s.due_at.astimezone(BERLIN)) for s in slots] == [
        (Kind.ANNOUNCEMENT, berlin(2026, 11, 26, 14)),
        (Kind.ANNOUNCEMENT, berlin(2026, 12, 8, 14)),
        (Kind.REMINDER, berlin(2026, 12, 9, 14)),
        (Kind.REMINDER, berlin(2026, 12, 10, 13, 45)),
    ]


def test_short_notice_collapses_past_announcements_into_one_now_and_drops_past_reminders():
    start = berlin(2026, 12, 10, 14).astimezone(UTC)
    five_days_ahead = berlin(2026, 12, 5, 9).astimezone(UTC)
    slots = wanted_slots(start, ANNOUNCE, REMIND, BERLIN, five_days_ahead)
    assert [(s.kind, s.slot, s.due_at) for s in slots] == [
        (Kind.ANNOUNCEMENT, slot_of(14 * DAY), five_days_ahead),
        (Kind.ANNOUNCEMENT, slot_of(2 * DAY), berlin(2026, 12, 8, 14).astimezone(UTC)),
        (Kind.REMINDER, slot_of(DAY), berlin(2026, 12, 9, 14).astimezone(UTC)),
        (Kind.REMINDER, slot_of(15 * MINUTE), berlin(2026, 12, 10, 13, 45).astimezone(UTC)),
    ]
    three_hours_ahead = start - 3 * HOUR
    slots = wanted_slots(start, ANNOUNCE, REMIND, BERLIN, three_hours_ahead)
    assert [(s.kind, s.slot, s.due_at) for s in slots] == [
        (Kind.ANNOUNCEMENT, slot_of(2 * DAY), three_hours_ahead),
        (Kind.REMINDER, slot_of(15 * MINUTE), start - 15 * MINUTE),
    ]
    assert wanted_slots(start, ANNOUNCE, REMIND, BERLIN, start) == []


T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def slot(kind: Kind, offset: timedelta, due: datetime) -> Slot:
    return Slot(kind, slot_of(offset), due)


def test_reconcile_creates_moves_rearms_and_skips():
    old, new = T0 + DAY, T0 + 2 * DAY
    existing = [
        Existing(1, Kind.ANNOUNCEMENT, slot_of(14 * DAY), "sent", old),  # sent announcement: edited, not resent
        Existing(2, Kind.ANNOUNCEMENT, slot_of(2 * DAY), "pending", old),  # pending: moves
        Existing(3, Kind.REMINDER, slot_of(DAY), "sent", old),  # sent reminder: due again
        Existing(4, Kind.REMINDER, slot_of(15 * MINUTE), "pending", old),  # no longer wanted: skipped
        Existing(5, Kind.REMINDER, slot_of(HOUR), "skipped", old),  # not wanted, not pending: left alone
    ]
    wanted = [
        slot(Kind.ANNOUNCEMENT, 14 * DAY, new),
        slot(Kind.ANNOUNCEMENT, 2 * DAY, new),
        slot(Kind.REMINDER, DAY, new),
        slot(Kind.REMINDER, 2 * HOUR, new),
    ]
    assert reconcile(existing, wanted) == [
        Change(Action.MOVE, wanted[1], 2),
        Change(Action.REARM, wanted[2], 3),
        Change(Action.CREATE, wanted[3]),
        Change(Action.SKIP, id=4),
    ]


def test_reconcile_changes_nothing_when_nothing_moved_and_skips_everything_pending_on_cancel():
    due = T0 + DAY
    existing = [
        Existing(1, Kind.REMINDER, slot_of(DAY), "sent", due),
        Existing(2, Kind.REMINDER, slot_of(15 * MINUTE), "pending", due),
    ]
    assert reconcile(existing, [slot(Kind.REMINDER, DAY, due), slot(Kind.REMINDER, 15 * MINUTE, due)]) == []
    assert reconcile(existing, []) == [Change(Action.SKIP, id=2)]


@pytest.mark.parametrize(
    ("kind", "due", "now", "start", "open_", "verdict", "late"),
    [
        (Kind.REMINDER, T0, T0, T0 + HOUR, True, Verdict.SEND, False),
        (Kind.REMINDER, T0, T0 + 30 * timedelta(seconds=1), T0 + HOUR, True, Verdict.SEND, False),
        (Kind.REMINDER, T0, T0 + 5 * MINUTE, T0 + HOUR, True, Verdict.SEND, True),
        (Kind.REMINDER, T0, T0 + HOUR, T0 + HOUR, True, Verdict.SKIP_STARTED, False),
        (Kind.REMINDER_DM, T0, T0, T0 + HOUR, False, Verdict.SKIP_STARTED, False),
        (Kind.ANNOUNCEMENT, T0, T0 + 7 * HOUR, T0 + 10 * DAY, True, Verdict.SKIP_TOO_LATE, False),
        (Kind.ANNOUNCEMENT, T0, T0 + 5 * HOUR, T0 + 10 * DAY, True, Verdict.SEND, True),
        (Kind.PROTOCOL, T0, T0 + 2 * HOUR, T0 - DAY, True, Verdict.SEND, True),
        (Kind.FOLLOWUP, T0, T0 + 7 * HOUR, T0 - DAY, True, Verdict.SKIP_TOO_LATE, False),
    ],
)
def test_decide(kind, due, now, start, open_, verdict, late):
    decision = decide(kind, due, now, 6 * HOUR, start, open_)
    assert (decision.verdict, decision.late) == (verdict, late)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (berlin(2026, 12, 10, 13, 45), ("soon", {"minutes": 15})),
        (berlin(2026, 12, 10, 13, 52, 40), ("soon", {"minutes": 7})),
        (berlin(2026, 12, 10, 9), ("today", {"time": "14:00"})),
        (berlin(2026, 12, 9, 14), ("tomorrow", {"time": "14:00"})),
        (berlin(2026, 12, 1, 14), ("on", {})),
    ],
)
def test_starts_in(now, expected):
    assert starts_in(berlin(2026, 12, 10, 14).astimezone(UTC), now.astimezone(UTC), BERLIN) == expected
