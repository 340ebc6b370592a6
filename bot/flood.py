"""A per-person command limit: a flooding user is told once, kindly, then ignored for a while.

Pure: the time of each command comes in (the homeserver's timestamp of the event, so commands
caught up after a restart count when they were sent, not when they were read). A command judged
again (its batch was not committed and is decided anew) gets its verdict again, counted once.
What the guard keeps is what the limit needs, not a record of everyone who ever wrote: the
people who sent a command within the last window, and the verdicts of batches not yet settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum


class Verdict(StrEnum):
    ALLOW = "allow"
    WARN = "warn"  # the first command over the limit: answered with a request to slow down
    IGNORE = "ignore"  # the following ones, until the window has room again


class FloodGuard:
    """At most `limit` commands per person within `window`."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        # Each person's commands within the window, the person judged longest ago first.
        self._recent: dict[str, list[datetime]] = {}
        self._warned: set[str] = set()
        self._judged: dict[str, Verdict] = {}  # by event id, until `settled`

    def check(self, user_id: str, at: datetime, event_id: str | None = None) -> Verdict:
        """The verdict on a command of `user_id` sent `at`; the same `event_id` again gets the
        verdict it got before, without counting twice, until it is `settled`."""
        if event_id is not None and (known := self._judged.get(event_id)) is not None:
            return known
        self._forget_idle(at)
        verdict = self._judge(user_id, at)
        if event_id is not None:
            self._judged[event_id] = verdict
        return verdict

    def settled(self, event_ids: Iterable[str]) -> None:
        """These events' batch was committed (or given up): they are not judged again."""
        for event_id in event_ids:
            self._judged.pop(event_id, None)

    def _judge(self, user_id: str, at: datetime) -> Verdict:
        recent = [sent for sent in self._recent.pop(user_id, ()) if sent > at - self.window]
        self._recent[user_id] = recent  # now the person judged last
        if len(recent) < self.limit:
            recent.append(at)
            self._warned.discard(user_id)
            return Verdict.ALLOW
        if user_id in self._warned:
            return Verdict.IGNORE
        self._warned.add(user_id)
        return Verdict.WARN

    def _forget_idle(self, at: datetime) -> None:
        """Forget the people judged longest ago whose commands all lie before the window."""
        while self._recent:
            user_id, times = next(iter(self._recent.items()))
            if times and times[-1] > at - self.window:
                return
            del self._recent[user_id]
            self._warned.discard(user_id)
