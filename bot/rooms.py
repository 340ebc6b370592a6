"""Which rooms the bot serves officially, and their regions: the config's `[rooms]` and the rooms
a config coordinator enabled (kept in the database, held here in memory for every role check)."""

from __future__ import annotations

from collections.abc import Mapping

from storage import rooms
from storage.db import Database

BOTH = "Bielefeld, Paderborn"


class OfficialRooms:
    """The official rooms: role decisions and listings ask here, without a database query."""

    def __init__(self, configured: Mapping[str, str]) -> None:
        self.configured = dict(configured)
        self._enabled: dict[str, str] = {}

    async def load(self, db: Database) -> None:
        async with db.transaction() as s:
            self._enabled = await rooms.enabled_rooms(s)

    def region(self, room_id: str) -> str | None:
        """The room's region, or None when the bot does not serve it officially."""
        return self.configured.get(room_id) or self._enabled.get(room_id)

    def is_official(self, room_id: str) -> bool:
        return self.region(room_id) is not None

    def all(self) -> list[str]:
        return sorted({*self.configured, *self._enabled})

    def scope(self, room_id: str) -> tuple[list[str], str | None]:
        """What a listing in `room_id` shows: sessions of these rooms, and of this region (None: all
        regions; a room of both regions, a direct chat or another room of one's own sees all)."""
        region = self.region(room_id)
        return self.all(), None if region in (None, BOTH) else region

    def enabled(self, room_id: str, region: str) -> None:
        self._enabled[room_id] = region

    def disabled(self, room_id: str) -> None:
        self._enabled.pop(room_id, None)
