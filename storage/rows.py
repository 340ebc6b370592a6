"""The one way to write a row and the one way to delete it, inside the caller's transaction."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import SQLModel, select
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


def dialect_of(s: AsyncSession) -> str:
    """The database the session writes to: "sqlite" or "postgresql"."""
    return s.bind.dialect.name if s.bind is not None else "sqlite"


def _insert(s: AsyncSession) -> Any:
    """The dialect's INSERT (with ON CONFLICT), SQLite's or PostgreSQL's; each dialect's module is
    loaded only where it is used."""
    if dialect_of(s) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


async def upsert(s: AsyncSession, model: type[SQLModel], values: dict[str, Any], unique: str) -> None:
    """Insert the row, or update the one with the same `unique` value: one statement."""
    statement = _insert(s)(model.__table__).values(**values)  # type: ignore[attr-defined]
    changed = {name: value for name, value in values.items() if name != unique}
    await s.exec(statement.on_conflict_do_update(index_elements=[unique], set_=changed))


async def insert_new_rows(
    s: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]], unique: str
) -> dict[Any, Any]:
    """Insert the rows (all with the same keys) but those whose `unique` value exists; the primary
    key of each row written, by its `unique` value. One statement, compiled once whatever the
    number of rows: SQLAlchemy sends the rows as multi-row INSERTs of `ROWS_PER_INSERT` rows at
    most ("insertmanyvalues", see `storage.db`), where a statement built for each number of rows
    would be compiled anew and kept in the statement cache for every batch size."""
    if not rows:
        return {}
    table = model.__table__  # type: ignore[attr-defined]
    key = next(iter(table.primary_key.columns))
    statement = _insert(s)(table).on_conflict_do_nothing(index_elements=[unique]).returning(table.c[unique], key)
    return dict((await s.exec(statement, params=rows)).all())


async def add_once(s: AsyncSession, row: SQLModel, *same: Any) -> bool:
    """Save `row` unless a row of its kind matching the conditions `same` exists (a second vote
    of one person, say); False when one did."""
    if (await s.exec(select(type(row)).where(*same))).first() is not None:
        return False
    await save(s, row)
    return True


async def delete(s: AsyncSession, row: SQLModel) -> None:
    await s.delete(row)
    await s.flush()
