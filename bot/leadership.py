"""Which of several instances on one database acts (syncs, answers, sends); the others wait.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its own,
held for the life of the process. Whoever holds it is active; a standby tries again every
`POLL` seconds. When the active process dies, its connection closes and PostgreSQL releases the
lock; when its machine goes down without a word, PostgreSQL's TCP keepalive (set for this session)
ends the session after about 21 s. When the lock's connection breaks or stops answering while the
process lives on, the process stops acting at once (`lost()` returns, and `Database.transaction`
refuses to begin): PostgreSQL lets another instance take the lock only after it has ended that
session, which takes longer than the holder needs to notice, so the old one has stopped before
the new one starts.

SQLite: one instance only. An OS lock (flock) on a file next to the database; a second instance
refuses to start with a clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rules.i18n import bilingual
from storage.db import Database

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

# The advisory lock's key; locks are per database, so bots on other databases do not compete.
LOCK_KEY = 0x7265_6769_6F62_6F74  # "regiobot"
POLL = 1.0  # seconds between a standby's attempts
CHECK = 1.0  # seconds between the active instance's checks that its lock connection answers
CHECK_TIMEOUT = 8.0  # seconds a check may take (a busy event loop included) before the lock counts as lost
# How PostgreSQL notices that the lock's holder is gone without a word (machine off, network cut):
# TCP keepalive after 15 s of silence, 3 probes 2 s apart, so it releases the lock after about
# 21 s, well after the holder itself has stopped (CHECK + CHECK_TIMEOUT) and within 30 s.
SERVER_SETTINGS = {
    "application_name": "regiobot lock",
    "tcp_keepalives_idle": "15",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}


class AlreadyRunning(Exception):
    """Another instance holds the SQLite database (the message says so in both languages)."""


class Leadership:
    """One instance alone (SQLite in memory): always active."""

    role = "active"

    @property
    def active(self) -> bool:
        return self.role == "active"

    async def acquire(self) -> None:
        """Return once this instance may act (a standby waits here)."""

    async def lost(self) -> None:
        """Return when this instance may act no longer (never, here)."""
        await asyncio.Event().wait()

    async def release(self) -> None:
        """Give the lock up (process end)."""


class FileLock(Leadership):
    """SQLite: an exclusive flock on `<database>.lock`; a second instance gets AlreadyRunning."""

    role = "starting"

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    async def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(bilingual("leadership.sqlite_in_use", path=str(self.path))) from None
        self._fd = fd
        self.role = "active"

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file ends the lock
            self._fd = None


class AdvisoryLock(Leadership):
    """PostgreSQL: a session-level advisory lock on a dedicated connection."""

    role = "standby"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: asyncpg.Connection[Any] | None = None
        self._lost = asyncio.Event()

    async def _connect(self) -> asyncpg.Connection[Any]:
        import asyncpg

        engine = self.db.engine
        _, params = engine.dialect.create_connect_args(engine.url)
        allowed = {"host", "port", "user", "password", "database", "ssl", "timeout"}
        options = {k: v for k, v in params.items() if k in allowed}
        settings = {**params.get("server_settings", {}), **SERVER_SETTINGS}
        connection = await asyncpg.connect(**options, server_settings=settings)
        connection.add_termination_listener(lambda _: self._lose("its database connection closed"))
        return connection

    async def acquire(self) -> None:
        failures = 0
        while True:
            try:
                if self._connection is None or self._connection.is_closed():
                    self._connection = await self._connect()
                if await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                    break
                if failures == 0 and self.role == "standby":
                    log.info("standby: another instance is active; waiting for its lock")
                failures = max(failures, 1)
            except Exception as exc:  # the database is away: keep trying
                log.warning("standby: could not try the lock (%s)", type(exc).__name__)
                await self._drop()
            await asyncio.sleep(POLL)
        self._lost.clear()
        self.role = "active"
        self.db.fence = lambda: self.active
        log.info("active: holding the lock")

    def _lose(self, why: str) -> None:
        if self.active:
            log.error("lock lost (%s): no more syncing or sending", why)
            self.role = "lost"
            self._lost.set()

    async def lost(self) -> None:
        """Return when the lock's connection is gone or does not answer within CHECK_TIMEOUT."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), CHECK)
            if self._lost.is_set():
                break
            if self._connection is None:
                self._lose("no connection")
                break
            try:
                await asyncio.wait_for(self._connection.fetchval("SELECT 1"), CHECK_TIMEOUT)
            except Exception as exc:  # closed, reset, timed out: the lock is not certainly ours
                self._lose(type(exc).__name__)

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()  # no goodbye needed: the session's end releases the lock

    async def release(self) -> None:
        self.role = "stopped"
        await self._drop()


def leadership_for(db: Database) -> Leadership:
    """The lock that fits the database: advisory lock, file lock, or none (SQLite in memory)."""
    if db.engine.dialect.name == "postgresql":
        return AdvisoryLock(db)
    database = db.sqlite_file
    return FileLock(database) if database else Leadership()
