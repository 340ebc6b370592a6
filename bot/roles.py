"""Who may do what: roles from the config lists and from room power levels."""

from __future__ import annotations

from enum import IntEnum

from bot.config import RolesConfig


class Role(IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    STAFF = 0
    MODERATOR = 1
    COORDINATOR = 2


def role_of(user_id: str, roles: RolesConfig, power_level: int) -> Role:
    """The highest role a user holds, by config list or by power level in the room."""
    if user_id in roles.coordinators or power_level >= roles.coordinator_power_level:
        return Role.COORDINATOR
    if user_id in roles.moderators or power_level >= roles.moderator_power_level:
        return Role.MODERATOR
    return Role.STAFF
