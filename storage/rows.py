"""The one way to write a row and the one way to delete it, inside the caller's transaction."""

from __future__ import annotations

from typing import TypeVar

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


async def delete(s: AsyncSession, row: SQLModel) -> None:
    await s.delete(row)
    await s.flush()
