"""Official rooms: a coordinator named in the config makes a room official (with its region), takes
it off the list again, or makes an official room the cooperation board's room. Only in official
rooms do power levels count as roles, and only their sessions are listed."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.rooms import BOTH
from rules.errors import UserError
from storage import board, rooms


def require_configured_coordinator(act: Acting) -> None:
    """Only a coordinator named in the config decides which rooms are official: power in a room
    of one's own must not make it official."""
    if not act.roles.configured_coordinator(act.sender):
        raise UserError("rooms.configured_only")


def require_not_configured(act: Acting, room_id: str) -> None:
    """A room the config makes official stays as the config says."""
    if room_id in act.official.configured:
        raise UserError("rooms.configured_room", region=act.official.configured[room_id])


async def enable(act: Acting, s: AsyncSession, room_id: str, region: str | None) -> str:
    """Make `room_id` official for `region` (both regions when none is given); the region."""
    require_configured_coordinator(act)
    require_not_configured(act, room_id)
    chosen = region or BOTH
    await rooms.enable(s, room_id, chosen, act.now)
    act.after_commit.append(lambda: act.official.enabled(room_id, chosen))
    return chosen


async def disable(act: Acting, s: AsyncSession, room_id: str) -> None:
    """Take `room_id` off the list of official rooms."""
    require_configured_coordinator(act)
    require_not_configured(act, room_id)
    if not await rooms.disable(s, room_id):
        raise UserError("rooms.not_enabled")
    act.after_commit.append(lambda: act.official.disabled(room_id))


async def choose_board(act: Acting, s: AsyncSession, room_id: str) -> None:
    """Make the official `room_id` the board room: the cards of offers and needs go there."""
    require_configured_coordinator(act)
    if act.config.board.room is not None:
        raise UserError("rooms.board_configured")
    if not act.official.is_official(room_id):
        raise UserError("rooms.board_not_official")
    await board.choose_board_room(s, room_id)
