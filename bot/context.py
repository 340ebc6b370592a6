"""What a handler gets for one event: the voice to speak in, the database, the outbox, the plans,
the sender's roles, and ways to answer (in reply, by mention, as a file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.config import Config
from bot.roles import Role, Roles
from bot.routing import CommandSet
from rules.content import file_content, message_content, pill, relation, transaction_id
from rules.errors import UserError
from rules.i18n import Message
from rules.sessions import SessionView, ref
from rules.voice import Voice
from storage.db import Database

MENTIONS_PER_MESSAGE = 100
MAX_MESSAGE_CHARS = 16_000  # per body and formatted_body: well below the 64 KiB event limit


class Outbox(Protocol):
    """Where messages go (the Matrix layer, or a fake in unit tests). Never called while a
    database transaction is open."""

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str) -> str: ...

    async def upload(self, room_id: str, data: bytes, content_type: str, filename: str) -> dict[str, Any]: ...

    async def react(self, room_id: str, event_id: str, key: str, tx_id: str) -> str: ...

    def member_count(self, room_id: str) -> int: ...

    async def direct_room(self, user_id: str) -> str: ...

    def display_name(self, room_id: str, user_id: str) -> str | None: ...


class Plans(Protocol):
    """The scheduler, as handlers see it."""

    def changed(self, session_id: int) -> None:
        """A session or its planned messages changed: derive its jobs again, refresh its announcement."""

    def places_changed(self, session_id: int) -> None:
        """Only its registrations changed: refresh its announcement."""


def voice_of(config: Config, now: datetime) -> Voice:
    """The bot's voice as configured, at `now`."""
    return Voice(config.language, config.command_prefix, config.timezone, now)


@dataclass
class Context(Voice):
    """Everything a handler may use for one event."""

    config: Config
    db: Database
    outbox: Outbox
    plans: Plans
    commands: CommandSet
    roles: Roles
    room_id: str
    sender: str
    event_id: str
    thread_root: str | None
    by_reaction: bool = False
    replies: int = field(default=0)

    @property
    def role(self) -> Role:
        """The sender's role in the room the event happened in."""
        return self.roles.in_room(self.room_id, self.sender)

    def require(self, role: Role, session: SessionView) -> None:
        """Refuse unless the sender holds `role` in the room of `session` (where it is announced):
        power in some other room of one's own gives no say over it."""
        if self.roles.in_room(session.room_id, self.sender) < role:
            raise UserError(
                "errors.role_required_for_session", ref=ref(session.id), role=self.t(f"roles.{role.name.lower()}")
            )

    async def reply(self, key_or_message: str | Message, **params: Any) -> str:
        """Answer the event as an m.notice in reply (and in its thread).

        An event that is a reaction (✅ on an announcement) is answered by direct message:
        a reaction has no place in the timeline to answer to, and others need not read it."""
        message = key_or_message if isinstance(key_or_message, Message) else self.t(key_or_message, **params)
        room_id = await self.outbox.direct_room(self.sender) if self.by_reaction else self.room_id
        event_id = ""
        for piece in message.split(MAX_MESSAGE_CHARS):
            self.replies += 1
            tx_id = transaction_id("reply", self.event_id, str(self.replies))
            content = (
                message_content(piece)
                if self.by_reaction
                else message_content(piece, reply_to=self.event_id, thread_root=self.thread_root)
            )
            event_id = await self.outbox.send(room_id, content, tx_id)
        return event_id

    async def notify(self, room_id: str, user_ids: list[str], key: str, **params: Any) -> None:
        """A message that must reach these people: m.text that mentions them (it notifies).

        Long lists go out in several messages, so no event comes near the 64 KiB limit."""
        for start in range(0, len(user_ids), MENTIONS_PER_MESSAGE):
            chunk = user_ids[start : start + MENTIONS_PER_MESSAGE]
            who = Message.join([pill(u, self.outbox.display_name(room_id, u)) for u in chunk], ", ")
            content = message_content(self.t(key, user=who, **params), notice=False, mentions=tuple(chunk))
            await self.outbox.send(room_id, content, transaction_id("notify", self.event_id, key, str(start)))

    async def send_file(self, room_id: str, data: bytes, filename: str, mimetype: str) -> str:
        """Upload `data` and post it as an m.file (in reply to the event when in its room)."""
        where = await self.outbox.upload(room_id, data, mimetype, filename)
        relates_to = relation(self.event_id, self.thread_root) if room_id == self.room_id else None
        content = file_content(filename, where, mimetype, len(data), relates_to)
        return await self.outbox.send(room_id, content, transaction_id("file", self.event_id, room_id, filename))
