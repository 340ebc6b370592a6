"""A database that fails for a while loses no command: a transient failure (SQLite locked by
another process, a PostgreSQL connection lost, no pooled connection free) leaves nothing of the
batch, which is tried again with backoff until it commits, each command then answered once; any
other failure is not retried."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import ROUTERS
from bot.sync_loop import Stopped, retried
from storage import state
from storage.db import Database
from storage.failures import describe, is_transient
from tests.postgres import on_both_databases
from tests.unit.fakes import COORDINATOR, NOW, configured, dispatcher_for
from tests.unit.test_throughput import answers_by_event, burst, counts, new_session, places


def sqlite_busy(path: Path) -> sqlite3.OperationalError:
    """The error SQLite gives when another connection holds the write lock (no busy wait)."""
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        other.close()
    raise AssertionError("the second writer got the lock")


class FailingCommits:
    """Makes the database's next commits fail the way they do when it is unavailable: SQLite
    locked by another process; on PostgreSQL the connection dropped just before the commit."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch, busy: sqlite3.OperationalError | None) -> None:
        self.pending = 0
        self.failed = 0
        dialect = db.engine.sync_engine.dialect
        commit = dialect.do_commit

        def do_commit(dbapi_connection: Any) -> None:
            if self.pending:
                self.pending -= 1
                self.failed += 1
                if busy is not None:
                    raise busy
                dbapi_connection._connection.terminate()  # asyncpg's connection, gone
            commit(dbapi_connection)

        monkeypatch.setattr(dialect, "do_commit", do_commit)


@pytest.fixture
async def bot(tmp_path: Path, migrated_url: str):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    yield config, db
    await db.close()


@on_both_databases
async def test_a_batch_whose_commit_fails_for_a_moment_is_answered_after_the_retry_exactly_once(bot, monkeypatch):
    config, db = bot
    busy = sqlite_busy(db.sqlite_file) if db.sqlite_file else None
    dispatcher = dispatcher_for(config, db, ROUTERS)
    await new_session(dispatcher, capacity=1)
    before = await counts(dispatcher)
    events = burst(("@p0:localhost", "!anmelden #1"), ("@p1:localhost", "!anmelden #1"), ("@p2:localhost", "!meine"))

    async def store_token(s):
        await state.set_state(s, "next_batch", "s2")

    failing = FailingCommits(db, monkeypatch, busy)
    failing.pending = 1
    with pytest.raises(Exception) as raised:
        await dispatcher.handle_batch(events, NOW, store_token)
    assert is_transient(raised.value)
    # Nothing of the batch is kept, nothing acknowledged, nothing answered.
    async with db.transaction() as s:
        assert await state.get_state(s, "next_batch") is None
    assert await places(dispatcher) == [] and await counts(dispatcher) == before
    assert not {event.event_id for event in events} & set(answers_by_event(dispatcher.outbox.sent))

    failing.pending = 1
    retries: list[int] = []
    taken = await retried(
        lambda: dispatcher.handle_batch(events, NOW, store_token), asyncio.Event(), lambda: retries.append(1)
    )

    assert failing.failed == 2 and retries == [1] and taken == 3
    answers = answers_by_event(dispatcher.outbox.sent)
    assert [len(answers[event.event_id]) for event in events] == [1, 1, 1]
    assert "Ref." not in " ".join(body for found in answers.values() for body in found)
    assert await places(dispatcher) == [("@p0:localhost", "registered"), ("@p1:localhost", "waitlisted")]
    async with db.transaction() as s:
        assert await state.get_state(s, "next_batch") == "s2"
    assert await counts(dispatcher) == (before[0] + 3, before[1] + 3)
    # The same batch once more (a sync that comes again) changes nothing.
    assert await dispatcher.handle_batch(events, NOW, store_token) == 0
    assert await counts(dispatcher) == (before[0] + 3, before[1] + 3)


async def test_while_the_database_stays_unavailable_stopping_ends_the_waiting(tmp_path, monkeypatch, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    assert db.sqlite_file is not None
    dispatcher = dispatcher_for(config, db, ROUTERS)
    failing = FailingCommits(db, monkeypatch, sqlite_busy(db.sqlite_file))
    failing.pending = 1000
    stopping = asyncio.Event()
    events = burst(("@p0:localhost", "!termine"))
    work = asyncio.create_task(retried(lambda: dispatcher.handle_batch(events, NOW), stopping))
    while failing.failed < 2:  # tried again after a backoff
        await asyncio.sleep(0.05)
    stopping.set()
    with pytest.raises(Stopped):
        await work
    assert dispatcher.outbox.sent == []
    await db.close()


async def test_a_lasting_failure_is_not_retried(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    dispatcher = dispatcher_for(config, db, ROUTERS)
    async with db.transaction() as s:
        await (await s.connection()).execute(text("DROP TABLE bot_state"))

    async def store_token(s):
        await state.set_state(s, "next_batch", "s2")

    retries: list[int] = []
    with pytest.raises(sa_exc.OperationalError) as raised:
        await retried(lambda: dispatcher.handle_batch([], NOW, store_token), asyncio.Event(), lambda: retries.append(1))
    assert not is_transient(raised.value) and retries == []
    await db.close()


async def test_which_failures_pass_by_themselves(tmp_path):
    path = tmp_path / "x.db"
    sqlite3.connect(path).close()
    busy = sqlite_busy(path)
    assert busy.sqlite_errorname == "SQLITE_BUSY" and is_transient(busy)
    wrapped = sa_exc.OperationalError("COMMIT", {}, busy)
    assert is_transient(wrapped) and describe(wrapped) == "OperationalError: database is locked"
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", pool_size=1, max_overflow=0, pool_timeout=0.1)
    async with engine.connect():
        with pytest.raises(sa_exc.TimeoutError) as no_connection:
            async with engine.connect():
                pass
    await engine.dispose()
    assert is_transient(no_connection.value)
    assert is_transient(ConnectionResetError(104, "Connection reset by peer"))
    dropped = sa_exc.InterfaceError("SELECT 1", {}, Exception("connection is closed"), connection_invalidated=True)
    assert is_transient(dropped)
    for sqlstate, transient in (("08006", True), ("40P01", True), ("57P01", True), ("23505", False), ("42P01", False)):
        error = Exception("postgres")
        error.sqlstate = sqlstate  # type: ignore[attr-defined]
        assert is_transient(sa_exc.DBAPIError("INSERT", {}, error)) == transient, sqlstate
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.IntegrityError) as duplicate:
            conn.execute("INSERT INTO t VALUES (1)")
    assert not is_transient(duplicate.value) and not is_transient(ValueError("no"))


def test_a_stopped_bot_exits_even_when_a_library_thread_lingers():
    """A thread that never ends (an aiosqlite connection never closed) does not keep the process
    of a bot that stopped alive: a supervisor sees it exit with the bot's status."""

    def exit_status(thread_work: str) -> subprocess.CompletedProcess[str]:
        program = (
            "import threading, bot.cli as cli\n"
            "cli.LINGER = 0.2\n"
            f"threading.Thread(target={thread_work}, name='forgotten').start()\n"
            "raise SystemExit(cli.leave(1))\n"
        )
        return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)

    lingering = exit_status("threading.Event().wait")
    assert lingering.returncode == 1 and "forgotten" in lingering.stderr
    finished = exit_status("lambda: None")
    assert finished.returncode == 1 and "forgotten" not in finished.stderr
