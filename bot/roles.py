"""Who may do what: roles from the config lists and from room power levels."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol

from bot.config import RolesConfig
from bot.rooms import OfficialRooms


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
    """Roles in a room: the config lists count everywhere, power levels in their room, and only
    in rooms the bot serves officially and is in (it forgets a room it left, `bot.removals`: power
    levels it no longer sees change are not trusted).

    Anyone can create a room and hold all power there; so for a command about a session, what
    counts is the power in the official room where that session is announced (see `Context.require`).
    """

    def __init__(self, config: RolesConfig, rooms: Rooms, official: OfficialRooms) -> None:
        self.config = config
        self.rooms = rooms
        self.official = official

    def in_room(self, room_id: str, user_id: str) -> Role:
        """The config lists count everywhere; power levels only in rooms the bot serves officially
        (anyone can make a room, or a direct chat, and hold all power there)."""
        level = self.rooms.power_level(room_id, user_id) if self.official.is_official(room_id) else 0
        return role_of(user_id, self.config, level)

    def configured_coordinator(self, user_id: str) -> bool:
        """Named as a coordinator in the config (not only by power in some room)."""
        return user_id in self.config.coordinators
