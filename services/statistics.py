"""Which municipalities take part in a year, for coordinators: per municipality and region, naming
no person."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.roles import Role
from rules.errors import UserError
from rules.participation import Participation, participation
from services.roles import require_role
from storage import participation as attendance

FIRST_YEAR = 2000


def bad_year(act: Acting) -> UserError:
    """The refusal of anything but a year from FIRST_YEAR up to this one."""
    return UserError("statistics.bad_year", first=FIRST_YEAR, last=act.now.astimezone(act.timezone).year)


async def year_figures(act: Acting, s: AsyncSession, year: int | None) -> Participation:
    """The figures of `year` (this year so far when None)."""
    require_role(act, Role.COORDINATOR)
    this_year = act.now.astimezone(act.timezone).year
    chosen = this_year if year is None else year
    if not FIRST_YEAR <= chosen <= this_year:
        raise bad_year(act)
    start = datetime(chosen, 1, 1, tzinfo=act.timezone)
    end = min(datetime(chosen + 1, 1, 1, tzinfo=act.timezone), act.now)
    rows, sessions = await attendance.attendance(s, start, end)
    return participation(rows, act.config.municipalities, chosen, sessions)
