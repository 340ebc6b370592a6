"""SQLite statements in one trip to aiosqlite's worker thread.

SQLAlchemy's aiosqlite adapter makes four trips to the connection's thread for every statement
(open a cursor, execute, fetch the rows, close), each a hand-over to the thread and back to the
event loop: about three quarters of what a short query costs, and most of what a command spends
in the database. The cursor here does all four in one function run in that thread and hands back
the rows, the description, the row count and the last row id. Server-side cursors (`stream`) are
SQLAlchemy's, unchanged.

It reaches, as SQLAlchemy's adapter does, into aiosqlite's connection for its sqlite3 connection
(`_conn`) and its queue of work for the thread (`_execute`); `tests/unit/test_one_trip.py` holds
both to what they must do with the versions the lock file pins.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What one statement leaves behind: description, rows, row count, last row id.
Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """In the connection's thread: the statement executed, its rows fetched, the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one trip to the thread (see the module)."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")
    _awaitable_cursor_close = False  # nothing is open in the thread after a statement

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # Unlike the base class, no aiosqlite cursor (a trip of its own) is opened here.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows: deque[Any] = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._trip(operation, seq_of_parameters, many=True)

    def _trip(self, operation: str, parameters: Any, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            outcome: Outcome = await_(
                connection._execute(_run, connection._conn, operation, parameters, many)  # type: ignore[no-untyped-call]
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = deque(rows)

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection with the one-trip cursor."""

    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite module handing out one-trip connections."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        return OneTripConnection(self, super().connect(*arg, **kw)._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    """The DBAPI module for an SQLite engine (`create_async_engine(..., module=...)`)."""
    return OneTripDBAPI(aiosqlite, sqlite3)
