"""The one way to write a row and the one way to delete it, inside the caller's transaction."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

Row = TypeVar("Row", bound=SQLModel)


async def save(s: AsyncSession, row: Row) -> Row:
    """Insert or update `row`; afterwards it has its id."""
    s.add(row)
    await s.flush()
    return row


def row_id(row: SQLModel) -> int:
    """The id of a row that has been saved (it has one from then on)."""
    value = getattr(row, "id", None)
    if not isinstance(value, int):
        raise ValueError(f"{type(row).__name__} has not been saved yet")
    return value


def _insert(s: AsyncSession) -> Any:
    """The dialect's INSERT (with ON CONFLICT), SQLite's or PostgreSQL's."""
    dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


async def upsert(s: AsyncSession, model: type[SQLModel], values: dict[str, Any], unique: str) -> None:
    """Insert the row, or update the one with the same `unique` value: one statement."""
    statement = _insert(s)(model.__table__).values(**values)  # type: ignore[attr-defined]
    changed = {name: value for name, value in values.items() if name != unique}
    await s.exec(statement.on_conflict_do_update(index_elements=[unique], set_=changed))


async def insert_new(s: AsyncSession, model: type[SQLModel], values: dict[str, Any], unique: str) -> Any:
    """Insert a row unless one with the same `unique` value exists; its primary key, or None when
    it existed. One statement (no read first), on SQLite and PostgreSQL alike."""
    return (await insert_new_rows(s, model, [values], unique)).get(values[unique])


async def insert_new_rows(
    s: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]], unique: str
) -> dict[Any, Any]:
    """Insert the rows (all with the same keys) but those whose `unique` value exists, in one
    statement; the primary key of each row written, by its `unique` value."""
    if not rows:
        return {}
    table = model.__table__  # type: ignore[attr-defined]
    key = next(iter(table.primary_key.columns))
    statement = _insert(s)(table).values(rows).on_conflict_do_nothing(index_elements=[unique])
    result = await s.exec(statement.returning(table.c[unique], key))
    return dict(result.all())


async def delete(s: AsyncSession, row: SQLModel) -> None:
    await s.delete(row)
    await s.flush()
