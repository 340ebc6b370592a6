"""Which database failures pass by themselves: the same work, tried again a little later, succeeds.

Transient: SQLite busy or locked (another process holds the write lock longer than the busy
timeout), a connection lost or refused (PostgreSQL restarted, the network dropped, a connection
reset), no pooled connection free in time, and PostgreSQL's own "try again" answers (serialization
failure, deadlock, shutdown, too many connections, out of resources). Everything else — a
constraint violated, a column missing, a bug — happens again however often the work is tried.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

# SQLSTATE classes and codes that PostgreSQL (and asyncpg) use for failures worth a retry: 08
# connection exception, 40001 serialization failure, 40P01 deadlock, 53 insufficient resources
# (disk full, out of memory, too many connections), 57P01–57P03 shutdown / cannot connect now.
RETRY_SQLSTATES = ("08", "40001", "40P01", "53", "57P01", "57P02", "57P03")
SQLITE_RETRY = ("SQLITE_BUSY", "SQLITE_LOCKED")  # and their extended codes (SQLITE_BUSY_SNAPSHOT …)


def is_transient(error: BaseException) -> bool:
    """Whether `error` (or the driver's error it wraps) is a database failure that passes by
    itself, so that retrying the same transaction later is right."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        found = pending.pop()
        if id(found) in seen:
            continue
        seen.add(id(found))
        if _transient_itself(found):
            return True
        # SQLAlchemy keeps the driver's error as `orig`; adapters chain theirs with `raise … from`.
        pending += [e for e in (getattr(found, "orig", None), found.__cause__) if isinstance(e, BaseException)]
    return False


def _transient_itself(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection became free in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, ConnectionError | TimeoutError):  # refused, reset, aborted; a connect timing out
        return True
    if isinstance(error, sqlite3.Error):
        return str(getattr(error, "sqlite_errorname", "")).startswith(SQLITE_RETRY)
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return isinstance(state, str) and state.startswith(RETRY_SQLSTATES)


def describe(error: BaseException) -> str:
    """The failure in a few words for the log: the driver's error class and its first line
    (query values never appear: the engine hides them, and these messages name none)."""
    inner = getattr(error, "orig", None) or error
    lines = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {lines[0]}" if lines else type(inner).__name__
