"""How many rooms one person may bring the bot into: every room costs syncs, keys and memory, so
an invitation beyond the cap is declined. Official rooms count for no one."""

from __future__ import annotations

from collections.abc import Callable, Iterable

ROOMS_PER_INVITER = 10  # rooms, other than official ones, one person may have invited the bot into


def may_join(room_id: str, invited_before: Iterable[str], official: Callable[[str], bool], cap: int) -> bool:
    """Whether the bot accepts an invitation into `room_id` from a person who invited it into the
    rooms `invited_before` (those it is still in): always into an official room; otherwise while
    fewer than `cap` of the others are not official (the same room invited again counts once)."""
    if official(room_id):
        return True
    counted = {room for room in invited_before if room != room_id and not official(room)}
    return len(counted) < cap
