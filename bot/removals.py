"""Rooms the bot is no longer in (it left, or was removed or banned): the Matrix layer forgets them,
so their power levels count for no role anywhere (not in chat from other rooms, not on the web) and
nothing more is sent there — a message still queued for one fails at once, as the homeserver would
refuse it, and is reported like any other that cannot be delivered.

An official room stays official (one from the config as the deployer wrote it, one enabled at run
time on its list): invited back, the bot joins it whoever invites, and roles there count again.
That the bot is out of it is told privately to the coordinators from the config and to those of
the room (by power level, as the bot last knew it), once for each removal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.acting import NOTICE_TTL, voice_of
from bot.config import Config
from bot.rooms import OfficialRooms
from rules.rendering.content import message_content
from storage import outbox
from storage.db import Database
from storage.outbox import Outgoing


class RoomsLeft(Protocol):
    """The Matrix layer, as far as rooms left concern it."""

    def room_name(self, room_id: str) -> str: ...

    def holders(self, room_id: str, level: int) -> set[str]: ...

    def forget(self, room_ids: Iterable[str]) -> None: ...


@dataclass(frozen=True)
class Removal:
    """The bot is out of an official room: `mark` names the removal (the event that took it out)."""

    room_id: str
    name: str
    region: str
    mark: str
    people: tuple[str, ...]


class Removals:
    """Forgets the rooms the bot is no longer in, and tells the coordinators of official ones."""

    def __init__(
        self, config: Config, db: Database, official: OfficialRooms, rooms: RoomsLeft, clock: Callable[[], datetime]
    ) -> None:
        self.config = config
        self.db = db
        self.official = official
        self.rooms = rooms
        self.clock = clock

    def forget(self, left: Mapping[str, str]) -> list[Removal]:
        """Forget the rooms left (each with the mark of its removal); the removals from official
        rooms, with whom to tell (read before the room's state is forgotten)."""
        removals = []
        for room_id, mark in left.items():
            region = self.official.region(room_id)
            if region is None:
                continue
            coordinators = self.rooms.holders(room_id, self.config.roles.coordinator_power_level)
            people = tuple(sorted(coordinators | self.config.roles.coordinators))
            removals.append(Removal(room_id, self.rooms.room_name(room_id), region, mark, people))
        self.rooms.forget(left)
        return removals

    async def tell(self, removals: list[Removal]) -> None:
        """Tell each removal's people by direct message (once: the messages' keys name it)."""
        now = self.clock()
        voice = voice_of(self.config, now)
        messages = []
        for removal in removals:
            message = voice.t("rooms.bot_removed", room=removal.name, region=removal.region)
            for person in removal.people:
                content = message_content(message, notice=False, mentions=(person,))
                key = f"removed:{removal.room_id}:{removal.mark}:{person}"
                messages.append((Outgoing(key, content, user_id=person), now + NOTICE_TTL))
        if messages:
            async with self.db.transaction() as s:
                await outbox.enqueue_all(s, messages, now)
