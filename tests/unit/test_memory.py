"""Giving freed memory back: the allocator's settings where the C library has them (and nothing,
without a crash, where it has not), a trim once per quiet spell after work, and which syncs
count as work, SQLite's page cache let go when idle; and what the start keeps resident of
regiobot's own (validators, types, difflib)."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import platform
import subprocess
import sys
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import SyncResponse
from sqlalchemy import text
from sqlmodel import SQLModel

from bot import memory
from bot.keystore import CryptoStore
from bot.memory import IdleTrim
from bot.sync_loop import carries_work
from storage.db import Database
from storage.models import UTC_DATETIME, EnumText, PlannedMessage, PlannedStatus, TableModel, UTCDateTime

ROOM = "!room:localhost"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_glibc_takes_the_arena_limit_and_trims():
    assert memory.limit_arenas() is True
    assert memory.trim() is True


def test_without_the_c_functions_nothing_happens(monkeypatch):
    """musl has no malloc_trim, macOS neither it nor M_ARENA_MAX: no crash, nothing done."""
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda _: object())
    assert memory.limit_arenas() is False
    assert memory.trim() is False

    def no_library(_: Any) -> Any:
        raise OSError("no C library")

    monkeypatch.setattr(memory.ctypes, "CDLL", no_library)
    assert memory.trim() is False


async def test_trims_once_after_the_last_work_of_a_spell():
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    firsts: list[float] = []
    trimmer = IdleTrim(idle=0.05, trim=lambda: calls.append(loop.time()) or True, first=lambda: firsts.append(1))
    for _ in range(3):  # a burst: each piece of work puts the trim off
        trimmer.busy()
    last_work = loop.time()
    await asyncio.sleep(0.2)
    assert len(calls) == 1 and calls[0] >= last_work + 0.05 - 0.005  # the loop's clock resolution
    await asyncio.sleep(0.1)
    assert len(calls) == 1  # idle: nothing more to give back
    trimmer.busy()
    await asyncio.sleep(0.2)
    assert trimmer.trimmed == len(calls) == 2 and firsts == [1]  # the first quiet spell only


async def test_no_trim_while_messages_are_still_going_out():
    """A burst's answers held up at the homeserver: no sync brings work meanwhile, but the bot is
    not idle; what it holds for them is let go once they are out."""
    calls: list[int] = []
    sending = True
    trimmer = IdleTrim(idle=0.02, trim=lambda: calls.append(1) or True, first=lambda: None, working=lambda: sending)
    trimmer.busy()
    await asyncio.sleep(0.15)
    assert calls == []
    sending = False
    await asyncio.sleep(0.1)
    assert calls == [1]


async def test_a_failing_trim_is_logged_and_closing_cancels(caplog):
    def broken() -> bool:
        raise RuntimeError("allocator gone")

    trimmer = IdleTrim(idle=0.01, trim=broken, first=lambda: None)
    trimmer.busy()
    with caplog.at_level(logging.WARNING, logger="bot.memory"):
        await asyncio.sleep(0.05)
    assert "could not give freed memory back" in caplog.text and trimmer.trimmed == 0

    calls: list[int] = []
    trimmer = IdleTrim(idle=0.01, trim=lambda: calls.append(1) or True, first=lambda: None)
    trimmer.busy()
    trimmer.close()
    await asyncio.sleep(0.05)
    assert calls == []


def test_the_survivors_of_the_start_are_set_aside_and_its_garbage_collected():
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    garbage = weakref.ref(Cycle())
    kept = Cycle()
    try:
        memory.freeze_survivors()
        assert garbage() is None and gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # no full pass walks it again
    finally:
        gc.unfreeze()


def sync(rooms: dict[str, Any] | None = None, to_device: list[dict[str, Any]] | None = None) -> SyncResponse:
    response = SyncResponse.from_dict(
        {"next_batch": "s2", "rooms": rooms or {}, "to_device": {"events": to_device or []}}
    )
    assert isinstance(response, SyncResponse)
    return response


def test_only_a_sync_that_brings_something_counts_as_work():
    message = {
        "type": "m.room.message",
        "event_id": "$1",
        "sender": "@anna:localhost",
        "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": "!termine"},
    }
    assert not carries_work(sync())  # a long-poll that timed out
    assert not carries_work(sync({"join": {ROOM: {"timeline": {"events": []}}}}))  # a receipt, say
    assert carries_work(sync({"join": {ROOM: {"timeline": {"events": [message]}}}}))
    member = {"type": "m.room.member", "state_key": "@bot:localhost", "sender": "@anna:localhost"}
    invite = {"invite_state": {"events": [{**member, "content": {"membership": "invite"}}]}}
    assert carries_work(sync({"invite": {ROOM: invite}}))
    assert carries_work(sync({"leave": {ROOM: {"timeline": {"events": []}}}}))


def test_the_start_keeps_no_validators_of_table_models_and_no_difflib():
    """What the bot imports at start leaves the table models' pydantic validators unbuilt and
    difflib unloaded (a fresh interpreter: other tests build and load them)."""
    probe = (
        "import sys, bot.app, bot.cli\n"
        "from storage.models import TableModel\n"
        "print(sorted(c.__name__ for c in TableModel.__subclasses__() if c.__pydantic_complete__))\n"
        "print('difflib' in sys.modules)\n"
    )
    built, difflib_loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split("\n")[:2]
    assert built == "[]"
    assert difflib_loaded == "False"


def test_a_table_model_builds_its_validator_when_first_needed():
    """Deferred, not lost: dumping and validating a table model work as before."""
    now = datetime.now(UTC)
    row = PlannedMessage(key="reminder:1", kind="reminder", due_at=now, created_at=now, revision=2)
    dumped = row.model_dump(exclude={"id"})
    assert dumped["key"] == "reminder:1" and dumped["revision"] == 2 and dumped["status"] == PlannedStatus.PENDING
    again = PlannedMessage.model_validate(dumped)
    assert (again.key, again.due_at, again.revision) == ("reminder:1", now, 2)
    assert all(c.model_config.get("defer_build") for c in TableModel.__subclasses__())


def test_columns_of_a_custom_type_share_one_instance():
    """SQLAlchemy keeps a comparator class for each instance of a custom column type: the UTC
    datetime columns share one, the columns of each enum another."""
    columns = [column for table in SQLModel.metadata.sorted_tables for column in table.columns]
    utc = [column.type for column in columns if isinstance(column.type, UTCDateTime)]
    assert len(utc) > 20 and all(t is UTC_DATETIME for t in utc)
    enums: dict[type, set[int]] = {}
    for column in columns:
        if isinstance(column.type, EnumText):
            enums.setdefault(column.type.enum, set()).add(id(column.type))
    assert enums and all(len(instances) == 1 for instances in enums.values())


async def test_what_others_hold_is_released_before_the_trim(caplog):
    order: list[str] = []

    async def release() -> None:
        await asyncio.sleep(0.01)
        order.append("release")

    trimmer = IdleTrim(idle=0.01, trim=lambda: order.append("trim") or True, first=lambda: None, release=release)
    trimmer.busy()
    await asyncio.sleep(0.1)
    assert order == ["release", "trim"] and trimmer.trimmed == 1

    async def broken() -> None:
        raise RuntimeError("database gone")

    calls: list[int] = []
    trimmer = IdleTrim(idle=0.01, trim=lambda: calls.append(1) or True, first=lambda: None, release=broken)
    trimmer.busy()
    with caplog.at_level(logging.WARNING, logger="bot.memory"):
        await asyncio.sleep(0.1)
    assert "could not release memory" in caplog.text and calls == [1]  # the trim runs all the same

    held = asyncio.Event()
    trimmer = IdleTrim(idle=0.01, trim=lambda: calls.append(2) or True, first=lambda: None, release=held.wait)
    trimmer.busy()
    await asyncio.sleep(0.05)
    trimmer.close()  # the loop stops while a release waits
    held.set()
    await asyncio.sleep(0.05)
    assert calls == [1]


def _sqlite_memory_used() -> Callable[[], int] | None:
    """SQLite's own count of the memory it holds, from the library the sqlite3 module uses."""
    maps = Path("/proc/self/maps").read_text().splitlines()
    path = next((line.split()[-1] for line in maps if "libsqlite3" in line), None)
    if path is None:
        return None
    used = ctypes.CDLL(path).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return used


async def test_sqlite_lets_its_page_cache_go_when_idle(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'regiobot.db'}")
    await db.migrate()
    try:
        async with db.transaction() as s:
            conn = await s.connection()
            await conn.execute(text("CREATE TABLE filler (text TEXT)"))
            await conn.execute(text("INSERT INTO filler VALUES (:t)"), [{"t": "x" * 1000}] * 1500)
        async with db.transaction() as s:  # a read through the writers' connection fills its cache
            found = await (await s.connection()).execute(text("SELECT count(*) FROM filler WHERE text LIKE '%y%'"))
            assert found.scalar() == 0
        used = _sqlite_memory_used()
        if used is None:
            pytest.skip("the sqlite3 module is linked statically")
        before = used()
        await db.release_memory()
        assert used() < before - 1_000_000  # about 1.5 MB of pages were cached
        db.fence = lambda: False
        await db.release_memory()  # a standby does not take the write lock for it
    finally:
        await db.close()


async def test_a_wait_for_the_writers_connection_leaves_no_session_behind(tmp_path):
    """A transaction that waited in the pool (another held the one writer) leaves a cancelled
    timer in the event loop for the pool's timeout; its copy of the task's context must not keep
    the finished session (and what it refers to) alive that long."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'regiobot.db'}")
    await db.migrate()
    first_holds = asyncio.Event()

    async def holding() -> None:
        async with db.transaction() as s:
            await s.connection()
            first_holds.set()
            await asyncio.sleep(0.05)

    async def waiting() -> weakref.ref[Any]:
        await first_holds.wait()
        async with db.transaction() as s:
            await (await s.connection()).execute(text("SELECT 1"))
            return weakref.ref(s)

    # A timer due before the pool's timeout, as the bot always has one (its sync's, its checks'):
    # the event loop drops a cancelled timer at once only when it is the next one due.
    earlier = asyncio.get_running_loop().call_later(10, lambda: None)
    try:
        _, session = await asyncio.gather(holding(), asyncio.create_task(waiting()))
        gc.collect()
        assert session() is None
    finally:
        earlier.cancel()
        await db.close()


def test_the_encryption_store_lets_its_page_cache_go(tmp_path):
    store = CryptoStore("@bot:localhost", "BOT", str(tmp_path), "unit-test-store-key")
    try:
        store.database.execute_sql("CREATE TABLE filler (text TEXT)")
        with store.database.atomic():
            store.database.cursor().executemany("INSERT INTO filler VALUES (?)", [("x" * 1000,)] * 1500)
        store.database.execute_sql("SELECT count(*) FROM filler WHERE text LIKE '%y%'").fetchall()
        used = _sqlite_memory_used()
        if used is None:
            pytest.skip("the sqlite3 module is linked statically")
        before = used()
        store.release_memory()
        assert used() < before - 1_000_000  # about 1.5 MB of pages were cached
    finally:
        store.database.close()
