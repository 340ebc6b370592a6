"""Copying all data from one database to another, e.g. from SQLite to PostgreSQL
(`regiobot copy-database`).

Both databases are first brought to the newest schema by the bot's own migrations; then every
table is copied, parents before children, in one transaction on the target, which must be empty.
On PostgreSQL the id sequences are then set past the copied ids, so new rows get new ids.
"""

from __future__ import annotations

from sqlalchemy import Integer, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage import board_search
from storage.db import Database


class TargetNotEmpty(Exception):
    """The target database already holds data (in `table`); nothing was copied."""

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


async def _sync_sequences(conn: AsyncConnection) -> None:
    """Let PostgreSQL's id sequences continue after the highest copied id."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f"COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) FROM {table.name}"
                    )
                )


async def copy_database(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every row from `source_url` to the empty `target_url`; returns rows copied per table."""
    source, target = Database(source_url), Database(target_url)
    try:
        await source.migrate()
        await target.migrate()
        tables = SQLModel.metadata.sorted_tables
        copied: dict[str, int] = {}
        async with source.engine.connect() as reading, target.engine.begin() as writing:
            for table in tables:
                if await writing.scalar(select(func.count()).select_from(table)):
                    raise TargetNotEmpty(table.name)
            for table in tables:
                rows = [dict(row) for row in (await reading.execute(select(table))).mappings()]
                if rows:
                    await writing.execute(insert(table), rows)
                copied[table.name] = len(rows)
            if writing.dialect.name == "postgresql":
                await _sync_sequences(writing)
        async with target.transaction() as s:
            await board_search.rebuild(s)  # SQLite's search index is no table of the models
        return copied
    finally:
        await source.close()
        await target.close()
