"""When planned messages fall due, how a change of date moves them, and what happens when
the bot was away at the due time. Pure functions: `now` and the time zone come in as arguments.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

# A message sent later than this after its due time counts as late.
LATE_AFTER = timedelta(minutes=1)


class Kind(StrEnum):
    """What a planned message is for."""

    ANNOUNCEMENT = "announcement"
    REMINDER = "reminder"
    REMINDER_DM = "reminder_dm"
    PROTOCOL = "protocol"
    MATERIAL = "material"
    FOLLOWUP = "followup"
    FEEDBACK = "feedback"  # after the session: ask everyone registered (one direct message each)
    FEEDBACK_DM = "feedback_dm"  # the feedback question to one person
    BOARD_RENEWAL = "board_renewal"  # asks the author of a board entry to renew it
    BOARD_EXPIRY = "board_expiry"  # a board entry expires


# Messages that are about a session still to come: pointless once it has begun.
BEFORE_SESSION = (Kind.ANNOUNCEMENT, Kind.REMINDER, Kind.REMINDER_DM)
# Messages whose due time follows from the session's start and the configured offsets.
FROM_SCHEDULE = (Kind.ANNOUNCEMENT, Kind.REMINDER)


def due_before(start: datetime, offset: timedelta, tz: ZoneInfo) -> datetime:
    """`offset` before `start`: whole days on the wall clock, the rest in elapsed time.

    "1d" before Monday 14:00 is Sunday 14:00 also when the clocks change in between;
    "15m" is always fifteen real minutes.
    """
    local = start.astimezone(tz)
    shifted = (local - timedelta(days=offset.days)).astimezone(UTC)  # aware arithmetic is wall-clock
    return shifted - timedelta(seconds=offset.seconds, microseconds=offset.microseconds)


def slot_of(offset: timedelta) -> str:
    """A stable name for one configured offset ('14d' → '1209600s')."""
    return f"{int(offset.total_seconds())}s"


@dataclass(frozen=True)
class Slot:
    """One announcement or reminder a session should have."""

    kind: Kind
    slot: str
    due_at: datetime


class ScheduleSettings(Protocol):
    """The configured offsets of announcements and reminders, the time zone they count in, and how
    long after a session's end the feedback question goes out."""

    @property
    def announce_before(self) -> tuple[timedelta, ...]: ...
    @property
    def remind_before(self) -> tuple[timedelta, ...]: ...
    @property
    def timezone(self) -> ZoneInfo: ...
    @property
    def feedback_after(self) -> timedelta: ...


def wanted_slots(
    start: datetime,
    announce_before: tuple[timedelta, ...],
    remind_before: tuple[timedelta, ...],
    tz: ZoneInfo,
    now: datetime,
) -> list[Slot]:
    """The announcements and reminders a session starting at `start` should have, seen at `now`.

    Announcements whose time has passed (a session planned at short notice) collapse into one
    announcement now; reminders whose time has passed are left out. A session that has begun
    needs none.
    """
    if start <= now:
        return []
    slots: list[Slot] = []
    announcements = [(offset, due_before(start, offset, tz)) for offset in announce_before]
    slots += [Slot(Kind.ANNOUNCEMENT, slot_of(o), due) for o, due in announcements if due > now]
    overdue = [o for o, due in announcements if due <= now]
    if overdue:
        slots.append(Slot(Kind.ANNOUNCEMENT, slot_of(min(overdue)), now))
    for offset in remind_before:
        due = due_before(start, offset, tz)
        if due > now:
            slots.append(Slot(Kind.REMINDER, slot_of(offset), due))
    return sorted(slots, key=lambda s: (s.due_at, s.kind))


@dataclass(frozen=True)
class Existing:
    """A planned announcement or reminder already in the database."""

    id: int
    kind: Kind
    slot: str
    status: str
    due_at: datetime


class Action(StrEnum):
    CREATE = "create"  # plan a new message
    MOVE = "move"  # a pending message gets a new due time
    REARM = "rearm"  # a message already sent (or given up) is due again, at a new time
    SKIP = "skip"  # a pending message is no longer wanted


@dataclass(frozen=True)
class Change:
    action: Action
    slot: Slot | None = None
    id: int | None = None


def reconcile(existing: list[Existing], wanted: list[Slot]) -> list[Change]:
    """What to do so the database holds exactly the wanted announcements and reminders.

    Pending messages move with the session. A reminder that was sent for the old date is
    sent again before the new one; a sent announcement is not repeated (it is edited to
    show the new date instead).
    """
    by_slot = {(e.kind, e.slot): e for e in existing}
    changes: list[Change] = []
    for slot in wanted:
        current = by_slot.pop((slot.kind, slot.slot), None)
        if current is None:
            changes.append(Change(Action.CREATE, slot))
        elif current.status == "pending":
            if current.due_at != slot.due_at:
                changes.append(Change(Action.MOVE, slot, current.id))
        elif current.due_at != slot.due_at and (slot.kind == Kind.REMINDER or current.status != "sent"):
            changes.append(Change(Action.REARM, slot, current.id))
    changes += [Change(Action.SKIP, id=e.id) for e in by_slot.values() if e.status == "pending"]
    return changes


class Verdict(StrEnum):
    SEND = "send"
    SKIP_STARTED = "skip_started"  # the session it is about has begun (or was cancelled)
    SKIP_TOO_LATE = "skip_too_late"  # the bot was away for longer than the grace period


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    late: bool = False


def decide(
    kind: Kind, due_at: datetime, now: datetime, grace: timedelta, session_start: datetime, session_open: bool
) -> Decision:
    """Whether a due message still goes out, and whether it is late."""
    if kind in BEFORE_SESSION and (session_start <= now or not session_open):
        return Decision(Verdict.SKIP_STARTED)
    lateness = now - due_at
    if lateness > grace:
        return Decision(Verdict.SKIP_TOO_LATE)
    return Decision(Verdict.SEND, late=lateness > LATE_AFTER)


# The longest wait between two attempts to deliver a message.
RETRY_CAP = timedelta(minutes=5)


def retry_delay(attempts: int, rng: Callable[[float, float], float] = random.uniform) -> timedelta:
    """Wait before the next attempt to deliver a message: exponential backoff with jitter, about
    2 s, 4 s, 8 s … up to five minutes (`rng` draws the jitter factor)."""
    base = min(RETRY_CAP.total_seconds(), 2.0**attempts)
    return timedelta(seconds=rng(0.5, 1.0) * base)


def starts_in(start: datetime, now: datetime, tz: ZoneInfo) -> tuple[str, dict[str, int | str]]:
    """How far off a session is, as a catalogue key and its parameters.

    ('soon', minutes) within the hour, ('today'/'tomorrow', time) on those days, else ('on', date)."""
    minutes = max(round((start - now).total_seconds() / 60), 0)
    local, today = start.astimezone(tz), now.astimezone(tz).date()
    if minutes < 60:
        return "soon", {"minutes": minutes}
    if local.date() == today:
        return "today", {"time": f"{local:%H:%M}"}
    if local.date() == today + timedelta(days=1):
        return "tomorrow", {"time": f"{local:%H:%M}"}
    return "on", {}
