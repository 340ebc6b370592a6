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


async def insert_new(s: AsyncSession, model: type[SQLModel], values: dict[str, Any], unique: str) -> Any:
    """Insert a row unless one with the same `unique` value exists; its primary key, or None when
    it existed. One statement (no read first), on SQLite and PostgreSQL alike."""
    table = model.__table__  # type: ignore[attr-defined]
    dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
    if dialect == "postgresql":  # each dialect's module is loaded only where it is used
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=[unique])
    result = await s.exec(statement.returning(*table.primary_key.columns))
    return result.scalar()


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
