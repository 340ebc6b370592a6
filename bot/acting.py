"""A person acting through one of the bot's faces (a chat command, a web form): who acts, where the
request came from, the roles the decisions trust, and what the action causes — messages on the
outbox, changed plans, work after the commit.

Nothing is sent here: messages are collected and written in the same transaction as the changes
that cause them (by the dispatcher for chat, by the web face for a form), then delivered by
`bot.deliverer`. Use cases (`services/`) take an `Acting`; the chat face's `bot.context.Context` is
one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, Self

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.roles import Role, Roles
from bot.rooms import OfficialRooms
from rules.errors import UserError
from rules.i18n import Message
from rules.rendering.content import file_content, message_content, relation
from rules.series import series_ref
from rules.sessions import SessionView, ref
from rules.voice import Voice
from storage import series, sessions
from storage.models import Series, Session
from storage.outbox import Outgoing
from storage.sessions import Scope

# How long an answer or notice still makes sense: delivered until then, else reported.
ANSWER_TTL = timedelta(hours=6)
NOTICE_TTL = timedelta(hours=24)


class RoomInfo(Protocol):
    """What the bot knows about rooms without asking the homeserver (the last sync's view)."""

    def member_count(self, room_id: str) -> int: ...

    def display_name(self, room_id: str, user_id: str) -> str | None: ...

    def may_set_state(self, room_id: str, event_type: str) -> bool:
        """Whether the bot's power level lets it set this state event in the room."""


class Plans(Protocol):
    """The scheduler, as use cases see it."""

    def changed(self, session_id: int) -> None:
        """A session or its planned messages changed: derive its jobs again, refresh its announcement."""

    def places_changed(self, session_id: int) -> None:
        """Only its registrations changed: refresh its announcement."""


class PlanChanges:
    """Plans as an action sees them: remembered, and passed on once its work is committed (before
    that the scheduler would read the database as it was)."""

    def __init__(self) -> None:
        self.sessions: set[int] = set()
        self.places: set[int] = set()

    def changed(self, session_id: int) -> None:
        self.sessions.add(session_id)

    def places_changed(self, session_id: int) -> None:
        self.places.add(session_id)

    def pass_on(self, plans: Plans) -> None:
        for session_id in sorted(self.sessions):
            plans.changed(session_id)
        for session_id in sorted(self.places - self.sessions):
            plans.places_changed(session_id)


def voice_of(config: Config, now: datetime) -> Voice:
    """The bot's voice as configured, at `now`."""
    return Voice(config.language, config.command_prefix, config.timezone, now)


@dataclass(kw_only=True)
class Acting(Voice):
    """One person's action: `sender` acts from `room_id` (the chat room; "" on the web), and
    `request_id` names the messages the action causes for good (the event id in chat), so that
    they are written only once."""

    config: Config
    roles: Roles
    rooms: RoomInfo
    sender: str
    room_id: str
    request_id: str
    plans: PlanChanges = field(default_factory=PlanChanges)
    messages: list[tuple[Outgoing, datetime]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def begin(
        cls,
        config: Config,
        roles: Roles,
        rooms: RoomInfo,
        *,
        sender: str,
        room_id: str,
        request_id: str,
        now: datetime,
        **more: Any,
    ) -> Self:
        """An action of `sender` at `now`, in the bot's configured voice (what it sends others is
        theirs); `more` are the fields a face's own kind of action adds."""
        return cls(
            language=config.language,
            prefix=config.command_prefix,
            timezone=config.timezone,
            now=now,
            config=config,
            roles=roles,
            rooms=rooms,
            sender=sender,
            room_id=room_id,
            request_id=request_id,
            **more,
        )

    @property
    def official(self) -> OfficialRooms:
        """The rooms the bot serves officially (the ones its role decisions trust)."""
        return self.roles.official

    def scope(self) -> Scope:
        """Which sessions a listing here shows: those of official rooms, and in a region's room
        only that region's and those for both."""
        rooms, region = self.official.scope(self.room_id)
        return Scope(rooms, region)

    async def find_session(self, s: AsyncSession, number: int) -> Session:
        """Session #number if it is announced in an official room (others do not exist for users)."""
        session = await sessions.find_session(s, number)
        if not self.official.is_official(session.room_id):
            raise UserError("errors.unknown_session", ref=ref(number))
        return session

    async def find_series(self, s: AsyncSession, number: int) -> Series:
        """Series number N if it is announced in an official room (others do not exist for users)."""
        found = await series.find_series(s, number)
        if not self.official.is_official(found.room_id):
            raise UserError("series.unknown", ref=series_ref(number))
        return found

    @property
    def role(self) -> Role:
        """The sender's role in the room the action came from."""
        return self.roles.in_room(self.room_id, self.sender)

    def require(self, role: Role, session: SessionView) -> None:
        """Refuse unless the sender holds `role` in the room of `session` (where it is announced):
        power in some other room of one's own gives no say over it."""
        if self.roles.in_room(session.room_id, self.sender) < role:
            raise UserError(
                "errors.role_required_for_session", ref=ref(session.id), role=self.t(f"roles.{role.name.lower()}")
            )

    def require_in_room(self, role: Role, room_id: str) -> None:
        """Refuse unless the sender holds `role` in `room_id` (a room the action names)."""
        if self.roles.in_room(room_id, self.sender) < role:
            raise UserError("errors.role_required_in_room", role=self.t(f"roles.{role.name.lower()}"))

    def _key(self, kind: str) -> str:
        """A key naming the next message of this action for good (so it is written only once)."""
        return f"{kind}:{self.request_id}:{len(self.messages)}"

    def queue(self, message: Outgoing, ttl: timedelta = ANSWER_TTL) -> None:
        """Send `message` once the action's work is committed (delivered until `ttl` has passed)."""
        self.messages.append((message, self.now + ttl))

    def committed(self, plans: Plans) -> None:
        """The action's work is committed: run what waited for it, tell the scheduler."""
        for hook in self.after_commit:
            hook()
        self.plans.pass_on(plans)

    def discard(self) -> None:
        """Forget what was queued (the action's work is rolled back)."""
        self.messages.clear()
        self.after_commit.clear()
        self.plans = PlanChanges()

    def tell(self, user_id: str, message: Message) -> None:
        """A message for one person, by direct message in the bot's own room with them: m.text
        that mentions them, so it notifies."""
        for piece in message.split():
            content = message_content(piece, notice=False, mentions=(user_id,))
            self.queue(Outgoing(self._key("dm"), content, user_id=user_id), NOTICE_TTL)

    def tell_each(self, user_ids: list[str], key: str, **params: Any) -> None:
        """The same notice to each of these people, privately (what concerns one person is never
        a list of names in a shared room)."""
        for user_id in user_ids:
            self.tell(user_id, self.t(key, **params))

    def post(
        self,
        room_id: str,
        message: Message,
        *,
        thread_root: str | None = None,
        thread_of: str | None = None,
        records: str | None = None,
        key: str | None = None,
    ) -> None:
        """A message of the bot's own in a room (m.text, in parts when long), maybe in a thread
        given by its root event or by the key of the outbox message that posts the root; `records`
        names what its event id is noted on (the first part's)."""
        for number, piece in enumerate(message.split()):
            part_key = f"{key}:{number}" if key and number else key or self._key("post")
            content = message_content(piece, notice=False, thread_root=thread_root)
            outgoing = Outgoing(
                part_key, content, room_id=room_id, thread_of=thread_of, records=None if number else records
            )
            self.queue(outgoing, NOTICE_TTL)

    def send_file(
        self,
        data: bytes,
        filename: str,
        mimetype: str,
        *,
        to_user: str | None = None,
        thread_root: str | None = None,
        thread_of: str | None = None,
        room_id: str | None = None,
    ) -> None:
        """Post `data` as an m.file: as the answer, privately to `to_user`, or into a thread of
        `room_id`. The deliverer uploads it (encrypted where the room is)."""
        self._upload(data, filename, mimetype, None, to_user, thread_root, thread_of, room_id)

    def send_image(self, data: bytes, filename: str, mimetype: str, size: tuple[int, int], *, to_user: str) -> None:
        """Send an image (`size`: width and height in pixels) privately to `to_user` as an m.image."""
        self._upload(data, filename, mimetype, size, to_user, None, None, None)

    def answer_relation(self) -> dict[str, Any] | None:
        """How a file that answers this action relates to what was asked (nothing, off the chat)."""
        return None

    def _upload(
        self,
        data: bytes,
        filename: str,
        mimetype: str,
        image: tuple[int, int] | None,
        to_user: str | None,
        thread_root: str | None,
        thread_of: str | None,
        room_id: str | None,
    ) -> None:
        if to_user or thread_of:  # a direct chat, or a thread not posted yet: the deliverer relates it
            relates_to = None
        elif thread_root:
            relates_to = relation(thread_root=thread_root)
        else:
            relates_to = self.answer_relation()
        content = file_content(filename, {}, mimetype, len(data), relates_to, image)
        target = {"user_id": to_user} if to_user else {"room_id": room_id or self.room_id}
        self.queue(Outgoing(self._key("file"), content, attachment=data, thread_of=thread_of, **target), NOTICE_TTL)
