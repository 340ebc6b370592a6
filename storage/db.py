"""The async database engine, migrations on start.

SQLite through aiosqlite (WAL, foreign keys, the write lock taken at the start of each
transaction) or PostgreSQL through asyncpg (rows locked where it matters, see
`repo.lock_session`). Readers that only show data (the web pages) read without the write lock:
`Database.reading()`. Each committed transaction moves the versions of the tables it wrote
(`Database.versions`), a marker that tells a cache when what it rendered may be out of date."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Table, event, inspect, text
from sqlalchemy.engine import URL, Connection, ExecutionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session as SyncSession
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.one_trip import one_trip_dbapi

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*"([^"]+)"', re.MULTILINE)
# The transaction the current task holds open, if any (nothing may call the homeserver then).
_CURRENT: ContextVar[AsyncSession | None] = ContextVar("current_transaction", default=None)
READERS = 4  # SQLite: read-only connections for the readers (each one a worker thread)
# SQLite keeps a connection's page cache (its default: up to 2 MiB) for the life of the
# connection; the writers' one lets it go when the bot is idle (`release_memory`), each reader's
# (the web pages) stays below this. Pages not in it come from the system's file cache.
READER_CACHE_KIB = 256
# Prepared statements a connection keeps (Python's default 128: over a megabyte once a burst has
# written batches of many sizes; preparing one again takes tens of microseconds).
PREPARED_STATEMENTS = 32
# Rows in one multi-row INSERT (SQLAlchemy's "insertmanyvalues"; by default as many as the database
# takes): a reminder to 200 people is four statements of one shape, not one of 200 rows, which
# would stay prepared at half a megabyte, and another for every other number of rows.
ROWS_PER_INSERT = 50
WRITTEN = "regiobot_written"  # connection.info / session.info: the tables a transaction wrote
ANY_TABLE = "*"  # a statement whose table is not known (raw SQL): every table may have changed
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite/aiosqlite would defer it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode a commit is then written but not flushed to disk: it survives a crash of the
    # process (SIGKILL) and loses at most the last commits, in order, on a power cut or a crash
    # of the machine. The sync token is written after its events, so such a loss re-decides them
    # and resends their messages with the same transaction ids, which the homeserver deduplicates.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # BEGIN comes from the "begin" event, as for writers
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_immediate(conn: Connection) -> None:
    # Take the write lock at the start, so two commands deciding on the same
    # places never interleave their read and their write.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(conn: Connection) -> None:
    # A read transaction: one snapshot for all its queries (in WAL mode it never waits for writers).
    conn.exec_driver_sql("BEGIN")


def _track_writes(conn: Connection) -> None:
    """A transaction begins on this connection: note from now on which tables it writes."""
    conn.info[WRITTEN] = set()


def _note_write(
    conn: Connection, _cursor: Any, statement: str, _parameters: Any, context: ExecutionContext, _many: bool
) -> None:
    written: set[str] | None = conn.info.get(WRITTEN)
    if written is None:
        return
    compiled = getattr(context.compiled, "statement", None)
    if isinstance(compiled, UpdateBase):  # INSERT, UPDATE, DELETE built with SQLAlchemy
        written.add(compiled.table.name if isinstance(compiled.table, Table) else ANY_TABLE)
    elif statement.lstrip()[:7].upper().startswith(_DML):  # raw SQL that writes
        written.add(ANY_TABLE)


def _remember_writes(session: SyncSession, _transaction: SessionTransaction, connection: Connection) -> None:
    """The session's transaction began on `connection`: keep the set its writes are noted in."""
    session.info[WRITTEN] = connection.info.get(WRITTEN, set())


def _reader_url(url: URL, database: Path) -> URL:
    """The SQLite file opened read-only (an SQLite URI, `mode=ro`)."""
    return url.set(database=f"file:{quote(str(database.resolve()))}", query={"mode": "ro", "uri": "true"})


def alembic_config(url: str) -> AlembicConfig:
    """Alembic configuration for this package's migrations and the given database URL."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str:
    """The newest migration, read from the migration files' `revision`/`down_revision` lines
    (without loading Alembic, which a start needs only when a migration is due)."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text()):
            (revisions if name == "revision" else replaced).add(value)
    (head,) = revisions - replaced
    return head


def _stored_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(stored) if stored is not None else None


class Fenced(Exception):
    """This instance may not write: it is not (or no longer certainly) the active one."""


class Database:
    """Owns the engine; hands out one transaction per unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        # hide_parameters: error messages (and so the log) never show the values of a query,
        # which are often personal data.
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        in_memory = sqlite and parsed.database in (None, "", ":memory:")
        # A pooled PostgreSQL connection may have been dropped by the server: pinged before use.
        pool: dict[str, Any] = {"pool_pre_ping": True}
        if sqlite:
            # Every SQLite transaction takes the write lock at its start, so they run one at a time
            # anyway: one connection, those waiting queued in the pool (in turn, not in SQLite's
            # busy-wait sleeps), one worker thread, one page cache. (In memory: SQLAlchemy's own.)
            pool = {"connect_args": {"cached_statements": PREPARED_STATEMENTS}, "module": one_trip_dbapi()}
            pool |= {} if in_memory else {"pool_size": 1, "max_overflow": 0}
        self.engine: AsyncEngine = create_async_engine(
            url, hide_parameters=True, insertmanyvalues_page_size=ROWS_PER_INSERT, **pool
        )
        if sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _begin_immediate)
        event.listen(self.engine.sync_engine, "begin", _track_writes)
        event.listen(self.engine.sync_engine, "after_cursor_execute", _note_write)
        written = type("WritingSession", (SyncSession,), {})  # this database's, for its listener alone
        event.listen(written, "after_begin", _remember_writes)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, sync_session_class=written, expire_on_commit=False
        )
        self._versions: Counter[str] = Counter()
        self._reader: AsyncEngine | None = None  # SQLite's read-only connections (disposed on close)
        if sqlite and not in_memory:
            self._reader = create_async_engine(
                _reader_url(parsed, Path(str(parsed.database))),
                hide_parameters=True,
                pool_size=READERS,
                max_overflow=0,
                connect_args={"cached_statements": PREPARED_STATEMENTS},
                module=one_trip_dbapi(),
            )
            event.listen(self._reader.sync_engine, "connect", _sqlite_reader_pragmas)
            event.listen(self._reader.sync_engine, "begin", _begin_deferred)
            readers = self._reader
        elif sqlite:
            readers = self.engine  # in memory: one database, the writers' connection
        else:  # PostgreSQL: the same pool, each transaction BEGIN … READ ONLY
            readers = self.engine.execution_options(postgresql_readonly=True)
        self._readers = async_sessionmaker(readers, class_=AsyncSession, expire_on_commit=False)
        # Whether this instance may write; the leadership lock replaces it (see bot/leadership.py).
        self.fence: Callable[[], bool] = lambda: True

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file (None for PostgreSQL and for SQLite in memory)."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database)

    async def migrate(self) -> None:
        """Bring the schema up to the newest migration (creating the SQLite file's folder)."""
        if self.sqlite_file:
            self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)

        async with self.engine.connect() as conn:
            if await conn.run_sync(_stored_revision) == head_revision():
                return

        def upgrade(connection: Connection) -> None:
            from alembic import command

            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the outermost block ends, rolled back on an exception.

        A block inside another one (in the same task) joins it: a handler's work, its answers in
        the outbox and its record as handled commit together. Raises Fenced when this instance
        may no longer write."""
        current = _CURRENT.get()
        if current is not None:
            yield current
            return
        if not self.fence():
            raise Fenced("this instance is not the active one")
        async with self._sessions() as session:
            async with session.begin():
                # The connection first: a wait for it in the pool leaves a cancelled timer behind
                # for the pool's timeout, holding a copy of the task's context (and this session).
                await session.connection()
                token = _CURRENT.set(session)
                try:
                    yield session
                finally:
                    _CURRENT.reset(token)
            self._versions.update(session.info.get(WRITTEN, ()))  # committed: readers may see it

    async def release_memory(self) -> None:
        """Let SQLite free the writers' page cache (the bot is idle; what the next command reads
        comes from the system's file cache). Nothing on PostgreSQL, in memory, or when this
        instance may not write."""
        if self.sqlite_file is None or not self.fence():
            return
        async with self.transaction() as s:
            await (await s.connection()).execute(text("PRAGMA shrink_memory"))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction that never waits for writers: on SQLite a read-only connection
        of its own (WAL: one snapshot, taken beside the write lock), on PostgreSQL a READ ONLY
        transaction. Writing in it fails."""
        async with self._readers() as session, session.begin():
            yield session

    def versions(self, *tables: type[SQLModel]) -> tuple[int, ...]:
        """How often transactions that wrote these tables have committed: equal versions, equal
        rows (as far as this process wrote them; raw SQL counts for every table)."""
        names = (ANY_TABLE, *(str(table.__tablename__) for table in tables))
        return tuple(self._versions[name] for name in names)

    @staticmethod
    def in_transaction() -> bool:
        """Whether the calling task holds a transaction open."""
        return _CURRENT.get() is not None

    async def ping(self) -> None:
        """A trivial query; raises when the database does not answer."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.dispose()
        await self.engine.dispose()
