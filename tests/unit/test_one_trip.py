"""SQLite statements in one trip to aiosqlite's thread (`storage.one_trip`): what a statement
leaves behind is what SQLAlchemy's own cursor leaves, and it costs one hand-over to the thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.db import Database
from storage.one_trip import OneTripCursor


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with database.transaction() as s:
        await s.exec(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))  # type: ignore[call-overload]
    yield database
    await database.close()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every function handed to an aiosqlite connection's thread from now on."""
    handed: list[object] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
        handed.append(fn)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return handed


async def test_the_bots_sqlite_engines_use_the_one_trip_cursor(db: Database) -> None:
    async with db.transaction() as s:
        connection = await s.connection()
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneTripCursor)  # type: ignore[union-attr]
    async with db.reading() as s:
        raw = await (await s.connection()).get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneTripCursor)  # type: ignore[union-attr]


async def test_a_statement_is_one_trip_to_the_thread(db: Database, trips: list[object]) -> None:
    async with db.transaction() as s:
        await s.exec(text("SELECT 1"))  # type: ignore[call-overload]  # the transaction is open now
        before = len(trips)
        rows = (await s.exec(text("SELECT name FROM t"))).all()  # type: ignore[call-overload]
        assert rows == []
        assert len(trips) == before + 1


async def test_rows_description_row_count_and_last_row_id(db: Database) -> None:
    async with db.transaction() as s:
        connection = await s.connection()
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        assert inserted.rowcount == 1
        many = await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        assert many.rowcount == 2
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        result = await connection.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert list(result.keys()) == ["id", "name"]
        assert [tuple(r) for r in result.all()] == [(1, "a"), (2, "b!"), (3, "c!")]
        parts = await connection.execute(text("SELECT id FROM t ORDER BY id"))
        assert [[r[0] for r in part] for part in parts.partitions(2)] == [[1, 2], [3]]
        streamed = await connection.stream(text("SELECT name FROM t ORDER BY id"))  # SQLAlchemy's cursor
        assert [r[0] async for r in streamed] == ["a", "b!", "c!"]


async def test_a_failing_statement_raises_and_the_transaction_rolls_back(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            await s.exec(text("INSERT INTO t (name) VALUES ('x')"))  # type: ignore[call-overload]
            await s.exec(text("INSERT INTO t (name) VALUES ('x')"))  # type: ignore[call-overload]
    with pytest.raises(OperationalError):
        async with db.transaction() as s:
            await s.exec(text("SELECT nothing FROM nowhere"))  # type: ignore[call-overload]
    async with db.transaction() as s:
        assert (await s.exec(text("SELECT count(*) FROM t"))).one() == (0,)  # type: ignore[call-overload]
