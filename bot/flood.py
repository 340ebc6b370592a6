"""A per-person command limit: a flooding user is told once, kindly, then ignored for a while.

Pure: the time of each command comes in (the homeserver's timestamp of the event, so commands
caught up after a restart count when they were sent, not when they were read).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from enum import StrEnum


class Verdict(StrEnum):
    ALLOW = "allow"
    WARN = "warn"  # the first command over the limit: answered with a request to slow down
    IGNORE = "ignore"  # the following ones, until the window has room again


class FloodGuard:
    """At most `limit` commands per person within `window`."""

    MAX_PEOPLE = 10_000  # forget idle people beyond this many

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._recent: dict[str, deque[datetime]] = {}
        self._warned: set[str] = set()

    def check(self, user_id: str, at: datetime) -> Verdict:
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
