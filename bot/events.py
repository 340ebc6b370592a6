"""From nio's events to the dispatcher's `Incoming`: which events of a sync could be meant for the
bot (not its own, not from servers it does not serve, not history from before its first sync, no
edits, only reactions some route takes) and what each carries (thread, reply, redacted event)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nio import MegolmEvent, ReactionEvent, RoomMessageText

from bot.dispatch import EventKind, Incoming


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def thread_root(event: RoomMessageText) -> str | None:
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    return relates.get("event_id") if relates.get("rel_type") == "m.thread" else None


def reply_to(event: RoomMessageText) -> str | None:
    """The event a message answers (m.in_reply_to), unless that is only a thread's fallback."""
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    if relates.get("rel_type") == "m.thread" and relates.get("is_falling_back"):
        return None
    replied = (relates.get("m.in_reply_to") or {}).get("event_id")
    return replied if isinstance(replied, str) else None


def redacted_id(event: Any) -> str | None:
    """The event a redaction removes (top level before room version 11, in the content after)."""
    source = getattr(event, "source", {})
    if source.get("type") != "m.room.redaction":
        return None
    redacts = source.get("redacts") or source.get("content", {}).get("redacts")
    return redacts if isinstance(redacts, str) else None


def is_edit(event: RoomMessageText) -> bool:
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    return relates.get("rel_type") == "m.replace"


@dataclass(frozen=True)
class EventReader:
    """Reads the events of one bot: its own user id, the servers whose people it serves, the
    moment of its very first sync (older events are history), and which reactions and redactions
    some route takes (`wants`, the dispatcher's)."""

    own_id: str
    allowed_servers: Collection[str]
    first_sync_ms: int
    wants: Callable[[EventKind, str | None], bool]

    def allowed(self, user_id: str) -> bool:
        return server_of(user_id) in self.allowed_servers

    def incoming(self, room_id: str, event: Any) -> Incoming | None:
        """What an event is for the dispatcher, or None when no route could take it."""
        sender = getattr(event, "sender", "")
        if sender == self.own_id or not self.allowed(sender):
            return None
        timestamp = getattr(event, "server_timestamp", 0)
        if timestamp < self.first_sync_ms:
            return None
        sent_at = datetime.fromtimestamp(timestamp / 1000, UTC)
        if isinstance(event, RoomMessageText):
            if is_edit(event):
                return None
            return Incoming(
                room_id, sender, event.event_id, event.body, thread_root(event), sent_at, reply_to=reply_to(event)
            )
        if isinstance(event, MegolmEvent):  # encrypted, and we could not decrypt it
            return Incoming(room_id, sender, event.event_id, sent_at=sent_at, kind=EventKind.UNDECRYPTABLE)
        if isinstance(event, ReactionEvent):
            if not self.wants(EventKind.REACTION, event.key):
                return None
            return Incoming(
                room_id,
                sender,
                event.event_id,
                sent_at=sent_at,
                kind=EventKind.REACTION,
                key=event.key,
                target=event.reacts_to,
            )
        redacts = redacted_id(event)
        if redacts is None or not self.wants(EventKind.REDACTION, None):
            return None
        return Incoming(room_id, sender, event.event_id, sent_at=sent_at, kind=EventKind.REDACTION, target=redacts)
