"""A person's municipality: how a typed name is read (matched against the regions' directory),
recording it once for every registration from then on, and showing it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from rules.errors import UserError
from rules.municipalities import Outcome, match
from storage import municipalities


def typed_municipality(act: Acting, text: str, retry: str) -> tuple[str, bool]:
    """(name, listed): the directory's name for what was typed, or the text itself (not listed)
    when it is close to nothing there. When it is only close, the person is asked back with
    `retry` (the command to write again, without the name) and nothing is done."""
    found = match(act.config.municipalities, text)
    if found.outcome == Outcome.SURE and found.name is not None:
        return found.name, True
    if found.outcome == Outcome.UNSURE:
        *others, last = found.candidates
        candidates = f"{', '.join(others)} {act.t('municipalities.or').plain} {last}" if others else last
        raise UserError("municipalities.did_you_mean", candidates=candidates, example=f"{retry} {found.candidates[0]}")
    return found.text, False


@dataclass(frozen=True)
class Municipality:
    """A person's municipality: its name, whether the regions' directory lists it, and its regions there."""

    name: str
    listed: bool
    regions: tuple[str, ...]


async def set_municipality(act: Acting, s: AsyncSession, name: str, listed: bool) -> Municipality:
    """Record the person's municipality (as `typed_municipality` read it), used with every
    registration from then on."""
    await municipalities.set_municipality(s, act.sender, name, listed, act.now)
    return described(act, name)


async def my_municipality(act: Acting, s: AsyncSession) -> Municipality | None:
    """The municipality the person gave, if any."""
    row = await municipalities.municipality_row(s, act.sender)
    return described(act, row.name) if row else None


def described(act: Acting, name: str) -> Municipality:
    """`name` as the directory knows it (or does not)."""
    directory = act.config.municipalities
    return Municipality(name, directory.is_listed(name), directory.regions_of(name))
