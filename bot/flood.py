"""A per-person command limit: a flooding user is told once, kindly, then ignored for a while.

Pure: the time of each command comes in (the homeserver's timestamp of the event, so commands
caught up after a restart count when they were sent, not when they were read). A command judged
again (its batch was not committed and is decided anew) gets its verdict again, counted once.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import datetime, timedelta
from enum import StrEnum


class Verdict(StrEnum):
    ALLOW = "allow"
    WARN = "warn"  # the first command over the limit: answered with a request to slow down
    IGNORE = "ignore"  # the following ones, until the window has room again


class FloodGuard:
    """At most `limit` commands per person within `window`."""

    MAX_PEOPLE = 10_000  # forget idle people beyond this many
    MAX_JUDGED = 10_000  # verdicts kept by event id (a batch tried again is far smaller)

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._recent: dict[str, deque[datetime]] = {}
        self._warned: set[str] = set()
        self._judged: OrderedDict[str, Verdict] = OrderedDict()

    def check(self, user_id: str, at: datetime, event_id: str | None = None) -> Verdict:
        """The verdict on a command of `user_id` sent `at`; the same `event_id` again gets the
        verdict it got before, without counting twice."""
        if event_id is not None and (known := self._judged.get(event_id)) is not None:
            return known
        verdict = self._judge(user_id, at)
        if event_id is not None:
            self._judged[event_id] = verdict
            if len(self._judged) > self.MAX_JUDGED:
                self._judged.popitem(last=False)
        return verdict

    def _judge(self, user_id: str, at: datetime) -> Verdict:
        recent = self._recent.setdefault(user_id, deque())
        while recent and recent[0] <= at - self.window:
            recent.popleft()
        if len(recent) < self.limit:
            recent.append(at)
            self._warned.discard(user_id)
            self._forget_idle(at)
            return Verdict.ALLOW
        if user_id in self._warned:
            return Verdict.IGNORE
        self._warned.add(user_id)
        return Verdict.WARN

    def _forget_idle(self, at: datetime) -> None:
        if len(self._recent) <= self.MAX_PEOPLE:
            return
        for user_id in [u for u, times in self._recent.items() if not times or times[-1] <= at - self.window]:
            del self._recent[user_id]
            self._warned.discard(user_id)
