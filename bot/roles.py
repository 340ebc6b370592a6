"""Who may do what: roles from the config lists and from room power levels."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol

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


class Rooms(Protocol):
    """What role decisions need to know about rooms (the Matrix layer, or a fake)."""

    def power_level(self, room_id: str, user_id: str) -> int: ...


class Roles:
    """Roles in a room: the config lists count everywhere, power levels in their room.

    Anyone can create a room and hold all power there; so for a command about a session, what
    counts is the power in the room where that session is announced (see `Context.require`).
    """

    def __init__(self, config: RolesConfig, rooms: Rooms) -> None:
        self.config = config
        self.rooms = rooms

    def in_room(self, room_id: str, user_id: str) -> Role:
        return role_of(user_id, self.config, self.rooms.power_level(room_id, user_id))
