"""What a chat handler gets for one event: the acting person (`bot.acting.Acting`: voice, roles,
the outbox queue), plus what only the chat face has — the event answered, its thread, the command
table, the batch's transaction, and answers in reply or as reactions.

Answers are not sent here: they are collected as outbox messages and written in the same
transaction as the handler's changes (see `bot.dispatch`), then delivered by `bot.deliverer`.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.routing import CommandSet
from rules.i18n import Message
from rules.rendering.content import annotation, message_content, relation
from storage.db import Database
from storage.outbox import Outgoing


@dataclass(kw_only=True)
class Context(Acting):
    """Everything a chat handler may use for one event (`request_id` is the event's id)."""

    db: Database
    commands: CommandSet
    thread_root: str | None
    by_reaction: bool = False
    # False: the event is not recorded as handled (its row, with room and time, would tie what it
    # did to a person, e.g. a feedback answer); the handler's work must then be safe to repeat.
    record_handled: bool = True

    @property
    def event_id(self) -> str:
        """The event being handled."""
        return self.request_id

    def join_batch(self) -> AbstractAsyncContextManager[AsyncSession]:
        """The transaction the dispatcher decides this event's batch in, joined: the handler's
        changes, its answers in the outbox and the event's record as handled commit together (no
        homeserver call inside it)."""
        return self.db.transaction()

    def answer_relation(self) -> dict[str, Any]:
        """A file that answers the event replies to it (inside its thread)."""
        return relation(self.event_id, self.thread_root)

    async def reply(self, key_or_message: str | Message, **params: Any) -> None:
        """Answer the event as an m.notice in reply (and in its thread).

        An event that is a reaction (✅ on an announcement) is answered by direct message:
        a reaction has no place in the timeline to answer to, and others need not read it."""
        message = key_or_message if isinstance(key_or_message, Message) else self.t(key_or_message, **params)
        for piece in message.split():
            if self.by_reaction:
                self.queue(Outgoing(self._key("reply"), message_content(piece), user_id=self.sender))
            else:
                content = message_content(piece, reply_to=self.event_id, thread_root=self.thread_root)
                self.queue(Outgoing(self._key("reply"), content, room_id=self.room_id, answers=self.event_id))

    def react(self, event_id: str, key: str) -> None:
        """Put a reaction on an event in this room."""
        self.queue(
            Outgoing(self._key("react"), annotation(key, event_id), room_id=self.room_id, event_type="m.reaction")
        )
