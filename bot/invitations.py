"""Invitations into rooms beyond the cap: the bot joins at most `rules.joining.ROOMS_PER_INVITER`
rooms on the invitations of one person (official rooms count for no one), since every room costs
syncs, keys and memory. An invitation beyond that is declined, and the person is told why by
direct message, at most once a day. Who invited the bot into a room is kept while it is in it
(`storage.invitations`); the sync loop joins and declines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.acting import NOTICE_TTL, voice_of
from bot.config import Config
from bot.rooms import OfficialRooms
from rules import joining
from rules.rendering.content import message_content
from storage import invitations, outbox
from storage.db import Database
from storage.outbox import Outgoing


class Invitations:
    """Decides on invitations by the rooms their senders invited the bot into before."""

    def __init__(self, config: Config, db: Database, official: OfficialRooms, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.db = db
        self.official = official
        self.clock = clock

    async def admit(self, room_id: str, inviter: str) -> bool:
        """Whether the bot may join `room_id` on `inviter`'s invitation; when not, the message
        that tells the inviter why is written to the outbox (once a day)."""
        now = self.clock()
        cap = joining.ROOMS_PER_INVITER
        async with self.db.transaction() as s:
            held = await invitations.rooms_invited_by(s, inviter)
            if joining.may_join(room_id, held, self.official.is_official, cap):
                return True
            voice = voice_of(self.config, now)
            content = message_content(voice.t("bot.rooms_per_inviter", count=cap), notice=False, mentions=(inviter,))
            day = now.astimezone(self.config.timezone).date()
            told = Outgoing(f"rooms-per-inviter:{inviter}:{day}", content, user_id=inviter)
            await outbox.enqueue(s, told, now, now + NOTICE_TTL)
        return False

    async def joined(self, room_id: str, inviter: str) -> None:
        """The bot joined `room_id` on `inviter`'s invitation: noted, unless the room is official."""
        if self.official.is_official(room_id):
            return
        async with self.db.transaction() as s:
            await invitations.record(s, room_id, inviter, self.clock())

    async def left(self, room_ids: list[str]) -> None:
        """The bot left these rooms, or was removed: who invited it there is forgotten."""
        async with self.db.transaction() as s:
            await invitations.left(s, room_ids)
