"""A person's municipality (`!kommune`): recorded once, used with every registration from then on."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import PersonMunicipality
from storage.rows import save


async def municipality_of(s: AsyncSession, user_id: str) -> str | None:
    """The municipality a person gave with `!kommune`, or None when they gave none.

    It is the directory's canonical name (`Halle (Westf.)`) when what they typed matched it;
    otherwise the text as they typed it, which is marked as unmatched by not being a name of the
    directory (`rules.municipalities.Directory.is_listed` is false for it; the stored row says
    so too, see `PersonMunicipality.listed`)."""
    row = await s.get(PersonMunicipality, user_id)
    return row.name if row else None


async def municipality_row(s: AsyncSession, user_id: str) -> PersonMunicipality | None:
    """The stored municipality of a person, with whether it is in the directory."""
    return await s.get(PersonMunicipality, user_id)


async def set_municipality(s: AsyncSession, user_id: str, name: str, listed: bool, now: datetime) -> None:
    """Record (or replace) a person's municipality."""
    row = await s.get(PersonMunicipality, user_id) or PersonMunicipality(
        user_id=user_id, name=name, listed=listed, set_at=now
    )
    row.name, row.listed, row.set_at = name, listed, now
    await save(s, row)
