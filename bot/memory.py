"""Keeping the bot's resident memory near what its work needs, where the C library allows it.

glibc's allocator keeps memory that was freed, and gives every thread that allocates an arena of
its own (up to eight per core): each of SQLite's worker threads (one per connection) may hold on
to the high-water mark of its page cache and its queries in an arena of its own. `limit_arenas` lets all
threads share two arenas; `IdleTrim` hands freed memory back to the system once the bot has been
idle for a moment after some work (a burst of commands, a fan-out). Elsewhere (musl, macOS) both
do nothing. The first time the bot is idle, the objects of its start (the libraries', the first
sync's) are set aside from the garbage collector's full passes (`gc.freeze`): such a pass walks
every object, over 100,000 of them, which stalls a command for up to hundreds of milliseconds on
a busy machine.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
ARENAS = 2  # the event loop's and one the worker threads share
IDLE = 2.0  # seconds without work before freed memory is given back


def _c_function(name: str) -> Any | None:
    """A function of the C library the process runs on, or None when it has none of that name."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let every thread started from now on share `arenas` allocator arenas; whether the C
    library took the setting. Call it before any thread starts."""
    mallopt = _c_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Give the memory the allocator holds free back to the system; whether the C library can."""
    malloc_trim = _c_function("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    malloc_trim(0)
    return True


def freeze_survivors() -> None:
    """Collect what is garbage now, then keep the garbage collector's full passes off every
    object still alive (they are mostly the libraries' and stay for the life of the process)."""
    gc.collect()
    gc.freeze()


class IdleTrim:
    """`busy()` after each piece of work; once `idle` seconds pass without another, and nothing
    is `working()` (messages still going out), `trim` runs (once per quiet spell, on the event
    loop: under a millisecond), after `first` the first time (a collection: tens of
    milliseconds, once) and after `release` each time (what others hold and can let go, such as
    SQLite's page cache: awaited in a task of its own)."""

    def __init__(
        self,
        idle: float = IDLE,
        trim: Callable[[], bool] = trim,
        first: Callable[[], None] = freeze_survivors,
        release: Callable[[], Awaitable[None]] | None = None,
        working: Callable[[], bool] = lambda: False,
    ) -> None:
        self.idle = idle
        self._trim = trim
        self._first: Callable[[], None] | None = first
        self._release = release
        self._working = working
        self._pending: asyncio.TimerHandle | None = None
        self._releasing: asyncio.Task[None] | None = None
        self.trimmed = 0  # quiet spells that were trimmed (for the tests and the log)

    def busy(self) -> None:
        """Work happened now: trim `idle` seconds after the last of it."""
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(self.idle, self._quiet)

    def close(self) -> None:
        """Trim no more (the loop is stopping)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._releasing is not None:
            self._releasing.cancel()
            self._releasing = None

    def _quiet(self) -> None:
        self._pending = None
        if self._working():  # e.g. a burst's answers held up at the homeserver: not idle yet
            self.busy()
            return
        if self._release is None:
            self._give_back()
        elif self._releasing is None:
            self._releasing = asyncio.get_running_loop().create_task(self._release_then_give_back(self._release))

    async def _release_then_give_back(self, release: Callable[[], Awaitable[None]]) -> None:
        try:
            await release()
        except Exception:  # never worth stopping the bot for; the trim still runs
            log.warning("could not release memory held for the work", exc_info=True)
        finally:
            self._releasing = None
        self._give_back()

    def _give_back(self) -> None:
        started = time.perf_counter()
        try:
            if self._first is not None:
                first, self._first = self._first, None
                first()
            done = self._trim()
        except Exception:  # never worth stopping the bot for
            log.warning("could not give freed memory back", exc_info=True)
            return
        if done:
            self.trimmed += 1
            log.debug("gave freed memory back in %.1f ms", 1000 * (time.perf_counter() - started))
