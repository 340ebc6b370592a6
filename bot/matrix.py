"""A thin layer over matrix-nio: errors become exceptions, sends are idempotent.

nio itself waits out 429 M_LIMIT_EXCEEDED (it honours `retry_after_ms`) and retries requests
the homeserver did not answer, resending with the same transaction id, so a retry never posts
twice. After a 429 `Matrix` sends one message at a time, each once the homeserver's wait is over
(paced, rather than all waiting senders trying again at once), and notes it in the database for
`!status` and `check-config`. `Client` makes those retries back off exponentially with jitter, without limit: while the
homeserver is away nothing is dropped, and no request storm greets it when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import logging
import os
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientResponse
from nio import (
    AsyncClient,
    ErrorResponse,
    Event,
    JoinedRoomsResponse,
    JoinResponse,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateEvent,
    RoomCreateResponse,
    RoomForgetResponse,
    RoomGetEventResponse,
    RoomGetStateResponse,
    RoomLeaveResponse,
    RoomMemberEvent,
    RoomPreset,
    RoomPutStateResponse,
    RoomRedactResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.api import RelationshipType
from nio.responses import Response

from bot.config import MatrixConfig
from bot.room_keys import RoomKeys
from rules.key_stretching import stretched
from storage import invitations, people, state
from storage.db import Database
from storage.outbox import REDACTION

log = logging.getLogger(__name__)


def backoff_delay(attempt: int, cap: float = 60.0) -> float:
    """Exponential backoff with jitter: about 1 s, 2 s, 4 s … up to `cap`, each randomised."""
    return random.uniform(0.5, 1.0) * min(cap, 2.0**attempt)


class Client(AsyncClient):
    """nio's client, retrying unanswered requests with `backoff_delay`; its syncs without the bot's
    own messages (`without_own_messages`)."""

    async def get_timeout_retry_wait_time(self, got_timeouts: int) -> float:
        delay = backoff_delay(got_timeouts - 1)
        log.warning("homeserver not reachable (attempt %d), retrying in %.1f s", got_timeouts, delay)
        return delay

    async def create_matrix_response(
        self,
        response_class: type,
        transport_response: ClientResponse,
        data: tuple[Any, ...] | None = None,
        save_to: os.PathLike[str] | None = None,
    ) -> Response:
        if response_class is not SyncResponse or transport_response.status != 200:
            return await super().create_matrix_response(response_class, transport_response, data, save_to)
        body = without_own_messages(await self.parse_body(transport_response), self.user_id)
        response = SyncResponse.from_dict(body)  # type: ignore[attr-defined]  # nio's `verify` hides it
        response.transport_response = transport_response
        return response


def without_own_messages(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """A sync's body without the bot's own messages in the timelines of the rooms it is in (its
    state events stay): its answers to a burst and the copies of a fan-out come back in the next
    sync, and nio would parse, validate and, in an encrypted room, decrypt each for nothing (the
    bot never reads its own). The sync filter cannot leave them out: the homeserver then drops a
    state change the bot made itself as well."""
    for room in (body.get("rooms") or {}).get("join", {}).values():
        timeline = room.get("timeline") or {}
        if timeline.get("events"):
            timeline["events"] = [e for e in timeline["events"] if e.get("sender") != user_id or "state_key" in e]
    return body


ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
# Room version 12 (MSC4289) gives creators a power above any number; they are not in the map.
PRIVILEGED_CREATORS_FROM = 12
CREATOR_POWER_LEVEL = 2**53 - 1
PREPARE_PARALLEL = 8  # direct rooms made side by side ahead of a fan-out
# A direct room prepared ahead of a message is kept in memory until a message went there, or for
# this long (the scheduler prepares them five minutes ahead of a reminder).
KEEP_PREPARED = 15 * 60.0
STATE_PARALLEL = 8  # rooms whose state is read side by side
PACED_FOR = 60.0  # seconds after a 429 during which sends go one at a time
DEFAULT_RETRY_AFTER_MS = 5000  # when a 429 does not say how long to wait
NOTE_RATE_LIMIT_EVERY = timedelta(minutes=1)


class MatrixError(Exception):
    """The homeserver refused a request (`status`: the HTTP status, when there was one)."""

    def __init__(self, message: str, status: int | None = None, errcode: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode

    @property
    def temporary(self) -> bool:
        """Worth trying again: rate limited, a server error (a proxy's 502 while Synapse restarts),
        or an answer that could not be understood; a 4xx such as M_FORBIDDEN or M_TOO_LARGE is final."""
        return self.status is None or self.status == 429 or self.status >= 500


# Timeline events per room one sync may bring. Synapse's default is 10: a burst of commands then
# comes back "limited" and the rest costs a /messages round trip (bot/sync_loop.py). 500 holds a
# one-second burst of 200 commands together with the bot's 200 answers even when one sync brings
# them all, and bounds what one busy room adds to a sync response at about half a megabyte (events
# of about 1 KB); a longer gap (the bot was down) is still fetched in pages. Synapse caps the limit
# at its `filter_timeline_limit` (default 100, docs/operations.md).
SYNC_TIMELINE_LIMIT = 500
# What the bot's syncs leave out: who is online, typing notifications and read receipts (nothing
# of it concerns the bot; a room's members typing and reading would wake each long-poll).
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "room": {"ephemeral": {"not_types": ["*"]}, "timeline": {"limit": SYNC_TIMELINE_LIMIT}},
}
# The very first sync of all only learns where "now" is (and every room's state): no history.
FIRST_SYNC_FILTER: dict[str, Any] = {**SYNC_FILTER, "room": {**SYNC_FILTER["room"], "timeline": {"limit": 0}}}


@dataclass(frozen=True)
class Invitation:
    """How the bot came into a room: the invitation's event, and who sent it."""

    event_id: str
    inviter: str


class LoginFailed(Exception):
    """The homeserver did not accept the bot's credentials."""


async def log_in(client: AsyncClient, matrix: MatrixConfig, device_name: str = "regiobot") -> None:
    """Log in with the access token (checked with whoami) or the password, as `client.device_id`
    (a new device when None); raises LoginFailed with the homeserver's reason."""
    if matrix.access_token:
        client.access_token = matrix.access_token
        who = await client.whoami()
        if not isinstance(who, WhoamiResponse):
            raise LoginFailed(f"access token not accepted: {getattr(who, 'message', who)}")
        # Also opens the device's encryption store (a password login does that by itself).
        client.restore_login(who.user_id, who.device_id or matrix.device_id, matrix.access_token)
    else:
        response = await client.login(matrix.password or "", device_name=device_name)
        if not isinstance(response, LoginResponse):
            raise LoginFailed(str(getattr(response, "message", response)))


class Matrix:
    """Sending, uploading and direct rooms on behalf of the bot."""

    def __init__(self, client: AsyncClient, db: Database, secret: str) -> None:
        self.client = client
        self.db = db
        self.keys = RoomKeys(client)
        self._alias_key = stretched(secret, "room-alias")
        self._direct: dict[str, str] = {}
        self._direct_locks: dict[str, asyncio.Lock] = {}  # of the people whose direct chat is being looked up
        self._direct_wanted: Counter[str] = Counter()  # … and how many lookups hold or await each lock
        self._in_use: Counter[str] = Counter()  # rooms whose state a send or an upload works with now
        self._prepared: dict[str, float] = {}  # direct rooms prepared for a message: loop time prepared
        self._creators: dict[str, set[str]] = {}
        self._unread: set[str] = set()  # rooms the bot is in whose state it does not hold (read when used)
        self._resume_at = float("-inf")  # loop time at which the homeserver takes messages again
        self._one_at_a_time = asyncio.Lock()
        self._noted: datetime | None = None
        client.add_response_callback(self._rate_limited, ErrorResponse)

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str, event_type: str = "m.room.message") -> str:
        """Send an event (an m.room.message unless said otherwise; a redaction goes by the redact
        endpoint); returns the event id. Paced while the homeserver is rate-limiting the bot."""
        with self._using(room_id):
            await self.learn([room_id])
            if self.client.olm is not None and room_id not in self.client.rooms:
                # nio refuses a room it does not know (LocalProtocolError, which would pass for a
                # passing failure and be retried): the bot left it, or was removed. A final refusal,
                # as Synapse's.
                raise MatrixError(f"the bot is not in {room_id}", 403, "M_FORBIDDEN")
            loop = asyncio.get_running_loop()
            if loop.time() < self._resume_at + PACED_FOR:
                async with self._one_at_a_time:
                    await asyncio.sleep(max(0.0, self._resume_at - loop.time()))
                    response = await self._room_send(room_id, content, tx_id, event_type)
            else:
                response = await self._room_send(room_id, content, tx_id, event_type)
        if not isinstance(response, RoomSendResponse | RoomRedactResponse):
            raise _error(response)
        self._prepared.pop(room_id, None)
        return str(response.event_id)

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any], state_key: str) -> str:
        """Set a state event of a room (the bot needs the power level for it); the event id."""
        await self.learn([room_id])
        response = await self.client.room_put_state(room_id, event_type, content, state_key)
        if not isinstance(response, RoomPutStateResponse):
            raise _error(response)
        return str(response.event_id)

    async def relations(self, room_id: str, event_id: str) -> list[dict[str, Any]]:
        """The events others sent that refer to `event_id` (`m.reference`, e.g. the responses to
        a poll), as raw events, decrypted where the bot can; all pages."""
        found: list[dict[str, Any]] = []
        try:
            async for event in self.client.room_get_event_relations(
                room_id, event_id, rel_type=RelationshipType.reference
            ):
                if getattr(event, "sender", None) == self.client.user_id:  # it keeps no keys to read its own
                    continue
                if isinstance(event, MegolmEvent):
                    try:
                        event = self.client.decrypt_event(event)
                    except Exception:
                        continue
                found.append(dict(event.source, type=event.source.get("type", "")))
        except AttributeError:  # nio met an error response where it expected a page
            raise MatrixError("could not read the relations", None) from None
        return found

    async def _room_send(self, room_id: str, content: dict[str, Any], tx_id: str, event_type: str) -> Any:
        if event_type == REDACTION:
            return await self.client.room_redact(room_id, content["redacts"], content.get("reason"), tx_id=tx_id)
        await self.keys.known(room_id)  # a member who just joined can read it
        return await self.client.room_send(room_id, event_type, content, tx_id=tx_id, ignore_unverified_devices=True)

    async def _rate_limited(self, response: ErrorResponse) -> None:
        """A 429 (nio waits it out and tries again): hold back the other sends until then, and note
        it where `!status` and `check-config` look (at most once a minute)."""
        if response.status_code != "M_LIMIT_EXCEEDED":
            return
        wait_ms = response.retry_after_ms or DEFAULT_RETRY_AFTER_MS
        self._resume_at = max(self._resume_at, asyncio.get_running_loop().time() + wait_ms / 1000)
        now = datetime.now(UTC)
        if self._noted is not None and now - self._noted < NOTE_RATE_LIMIT_EVERY:
            return
        self._noted = now
        log.warning("the homeserver is rate-limiting the bot (waiting %d ms); see the admin guide", wait_ms)
        try:
            async with self.db.transaction() as s:
                await state.note_rate_limited(s, now)
        except Exception:
            log.warning("could not note the rate limit", exc_info=True)

    def member_count(self, room_id: str) -> int:
        """Joined and invited members as of the last sync (0 if the room is unknown)."""
        room = self.client.rooms.get(room_id)
        return int(room.member_count) if room else 0

    async def upload(self, room_id: str, data: bytes, content_type: str, filename: str) -> dict[str, Any]:
        """Upload a file for `room_id`; returns the content fields naming it (`url`, or in an
        encrypted room `file` with the keys to decrypt it)."""
        with self._using(room_id):
            await self.learn([room_id])
            encrypt = self.is_encrypted(room_id)
        response, keys = await self.client.upload(
            io.BytesIO(data),
            content_type="application/octet-stream" if encrypt else content_type,
            filename=filename,
            filesize=len(data),
            encrypt=encrypt,
        )
        if not isinstance(response, UploadResponse):
            raise _error(response)
        if encrypt:
            return {"file": {"url": str(response.content_uri), **(keys or {})}}
        return {"url": str(response.content_uri)}

    def is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted)

    async def direct_room(self, user_id: str) -> str:
        """The bot's own direct chat with `user_id`: the room it made and recorded, while the person
        is still in it (joined or invited); otherwise a new one, invite-only and encrypted, with the
        bot its creator. A room somebody else made is never used, whoever is in it: it may have been
        public once, or its maker may come back."""
        async with self._alone_with(user_id):  # one new room per person, people side by side
            room_id = self._direct.get(user_id)
            if room_id is None:
                async with self.db.transaction() as s:
                    room_id = await people.direct_room_of(s, user_id)
            if room_id is not None:
                with self._using(room_id):
                    await self.learn([room_id])
                    if self._still_with(room_id, user_id):
                        self._direct[user_id] = room_id
                        return room_id
            if room_id is not None and room_id in self.client.rooms:
                await self.client.room_leave(room_id)  # someone else got in, or the person left
            encrypted = self.client.olm is not None
            room_id = await self._create_once(
                f"direct:{user_id}:{room_id or ''}",  # a new key once the recorded room is given up
                invite=[user_id],
                is_direct=True,
                preset=RoomPreset.private_chat,
                initial_state=[ENCRYPTION_STATE] if encrypted else (),
            )
            await self._know_new_room(room_id, [user_id], encrypted)
            async with self.db.transaction() as s:
                await people.record_direct_room(s, user_id, room_id, datetime.now(UTC))
            self._direct[user_id] = room_id
            return room_id

    @contextlib.asynccontextmanager
    async def _alone_with(self, user_id: str) -> AsyncIterator[None]:
        """One lookup of this person's direct chat at a time; the person's lock is kept only while
        a lookup holds or awaits it."""
        lock = self._direct_locks.setdefault(user_id, asyncio.Lock())
        self._direct_wanted[user_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._direct_wanted[user_id] -= 1
            if not self._direct_wanted[user_id]:
                del self._direct_wanted[user_id], self._direct_locks[user_id]

    @contextlib.contextmanager
    def _using(self, room_id: str) -> Iterator[None]:
        """Mark the room's state as in use (not let go meanwhile: `let_go_of_direct_chats`)."""
        self._in_use[room_id] += 1
        try:
            yield
        finally:
            self._in_use[room_id] -= 1
            if not self._in_use[room_id]:
                del self._in_use[room_id]

    async def let_go_of_direct_chats(self, keep: Iterable[str] = ()) -> int:
        """Let go of the state of the bot's direct chats that nothing uses now (nor `keep`, nor a
        room key being shared there, nor a message it was prepared for), as after a start: it is
        read again when one is used. A fan-out to thousands of people does not stay in memory.
        Returns how many were let go."""
        async with self.db.transaction() as s:
            direct = await people.direct_room_ids(s)
        now = asyncio.get_running_loop().time()
        self._prepared = {r: at for r, at in self._prepared.items() if now - at < KEEP_PREPARED}
        busy = {*self._in_use, *self._prepared, *keep}
        idle = {r for r in direct if r in self.client.rooms and r not in busy and not self.keys.busy_with(r)}
        for room_id in idle:
            del self.client.rooms[room_id]
            self._creators.pop(room_id, None)
        self._unread |= idle
        self._direct = {user_id: room_id for user_id, room_id in self._direct.items() if room_id not in idle}
        if idle:
            log.debug("let go of the state of %d direct chats", len(idle))
        return len(idle)

    async def group_room(self, user_ids: list[str], name: str, key: str) -> str:
        """The room for these people and the bot made for `key` (invite-only, encrypted, the bot
        its creator), e.g. for the two sides of a board entry: made once, whatever happens between
        making it and noting it."""
        encrypted = self.client.olm is not None
        room_id = await self._create_once(
            key,
            name=name,
            invite=user_ids,
            preset=RoomPreset.private_chat,
            initial_state=[ENCRYPTION_STATE] if encrypted else (),
        )
        await self._know_new_room(room_id, user_ids, encrypted)
        return room_id

    async def _create_once(self, key: str, **room: Any) -> str:
        """Make a room for `key`, or find the one made for it before: a crash after the homeserver
        made it but before the bot noted it does not lead to a second room. The room gets an alias
        derived from `key` with the bot's secret (nobody else can know it ahead and make a room
        under it), and the homeserver refuses the alias a second time; then the alias names the
        room made before, which the bot is in."""
        digest = hmac.new(self._alias_key, key.encode(), hashlib.sha256).hexdigest()[:32]
        alias = f"regiobot-{digest}"
        response = await self.client.room_create(alias=alias, **room)
        if isinstance(response, RoomCreateResponse):
            return str(response.room_id)
        refusal = response.status_code if isinstance(response, ErrorResponse) else None
        if refusal == "M_FORBIDDEN":  # a homeserver that lets only some make aliases: a room without
            log.warning("the homeserver refused the alias of a new room; made without it")
            response = await self.client.room_create(**room)
            if isinstance(response, RoomCreateResponse):
                return str(response.room_id)
        if refusal != "M_ROOM_IN_USE":
            raise _error(response)
        found = await self.client.room_resolve_alias(f"#{alias}:{self.client.user_id.split(':', 1)[1]}")
        if not isinstance(found, RoomResolveAliasResponse):
            raise _error(found)
        if found.room_id not in self.client.rooms:
            raise MatrixError(f"the room made before for {key.split(':', 1)[0]} is not ours", 403)
        log.info("found the room made before for %s", key.split(":", 1)[0])
        return str(found.room_id)

    async def prepare_direct_rooms(self, user_ids: list[str]) -> None:
        """Make sure each person has a direct room with the bot, its members known and its room
        key shared with their devices, PREPARE_PARALLEL at a time: a fan-out to them is then only
        sends. Whoever cannot be prepared now is prepared when the message goes out."""
        limit = asyncio.Semaphore(PREPARE_PARALLEL)

        async def prepare(user_id: str) -> None:
            async with limit:
                try:
                    room_id = await self.direct_room(user_id)
                    with self._using(room_id):
                        await self.learn([room_id])  # in case it was let go meanwhile
                        await self.keys.share(room_id)
                    self._prepared[room_id] = asyncio.get_running_loop().time()
                except Exception:
                    log.warning("could not prepare the direct room of a person", exc_info=True)

        await asyncio.gather(*(prepare(user_id) for user_id in user_ids))

    async def join(self, room_id: str) -> None:
        """Join a room the bot was invited into; MatrixError when the homeserver refuses."""
        response = await self.client.join(room_id)
        if not isinstance(response, JoinResponse):
            raise _error(response)

    async def read_joined_rooms(self) -> None:
        """At a start with a stored sync token: read the state of the rooms the bot is in (nio keeps
        it only in memory), except its own direct chats, whose state is read when one is used
        (`learn`). A full-state sync would make the homeserver assemble the state of every room,
        thousands of direct chats among them, before the bot could answer anything."""
        joined = await self.client.joined_rooms()
        if not isinstance(joined, JoinedRoomsResponse):
            raise _error(joined)
        async with self.db.transaction() as s:
            direct = await people.direct_room_ids(s)
        self._unread = set(joined.rooms)
        await self.learn(self._unread - direct)
        unread = len(self._unread)
        log.info("read the state of %d rooms; %d direct chats are read when used", len(joined.rooms) - unread, unread)

    async def learn(self, room_ids: Iterable[str]) -> None:
        """Read the state of those of these rooms whose state the bot has not read since its start
        (see `read_joined_rooms`), STATE_PARALLEL at a time. Raises MatrixError when the
        homeserver does not give it."""
        unread = [room_id for room_id in dict.fromkeys(room_ids) if room_id in self._unread]
        if not unread:
            return
        limit = asyncio.Semaphore(STATE_PARALLEL)

        async def read(room_id: str) -> None:
            async with limit:
                await self._read_state(room_id)

        await asyncio.gather(*(read(room_id) for room_id in unread))

    async def _read_state(self, room_id: str) -> None:
        """Take a room's current state into nio, as a full-state sync would."""
        response = await self.client.room_get_state(room_id)
        if not isinstance(response, RoomGetStateResponse):
            raise _error(response)
        client = self.client
        room = client.rooms.get(room_id) or MatrixRoom(room_id, client.user_id, room_id in client.encrypted_rooms)
        client.rooms[room_id] = room
        for source in response.events:
            event = Event.parse_event(source)
            if isinstance(event, RoomMemberEvent):
                room.handle_membership(event)
            elif isinstance(event, Event):
                room.handle_event(event)
            if isinstance(event, RoomCreateEvent):
                self.note_creation(room_id, event)
        if room.encrypted:
            client.encrypted_rooms.add(room_id)
            if client.olm is not None:
                client.olm.update_tracked_users(room)
        self._unread.discard(room_id)

    def _still_with(self, room_id: str, user_id: str) -> bool:
        """Whether the bot is in the room with the person (joined or invited) and nobody else."""
        room = self.client.rooms.get(room_id)
        return room is not None and set(room.users) | set(room.invited_users) == {self.client.user_id, user_id}

    async def _know_new_room(self, room_id: str, invitees: list[str], encrypted: bool) -> None:
        """Make a room we just created known to nio with its invitees, before a sync may have told
        it (a message can then go out at once, its keys shared with the invitees' devices too)."""
        client = self.client
        room = client.rooms.get(room_id) or MatrixRoom(room_id, client.user_id, encrypted)
        client.rooms[room_id] = room
        room.add_member(client.user_id, None, None)
        for invitee in invitees:
            room.add_member(invitee, None, None, invited=True)
        if encrypted and client.olm is not None:
            room.encrypted = True
            client.encrypted_rooms.add(room_id)
            client.olm.update_tracked_users(room)
            await self.keys.known(room_id)

    def note_creation(self, room_id: str, event: RoomCreateEvent) -> None:
        """Remember a room's creators: from room version 12 on they outrank every power level."""
        version = event.room_version
        if version.isdigit() and int(version) >= PRIVILEGED_CREATORS_FROM:
            extra = event.source.get("content", {}).get("additional_creators") or []
            self._creators[room_id] = {event.sender, *(u for u in extra if isinstance(u, str))}

    def forget(self, room_ids: Iterable[str]) -> None:
        """The bot left these rooms, or was removed or banned: what it knew of them goes, so power
        levels there count for nothing and nothing is sent there, until it joins again (the sync
        of the join brings the room's state anew)."""
        for room_id in room_ids:
            self.client.rooms.pop(room_id, None)
            self._creators.pop(room_id, None)
            self._prepared.pop(room_id, None)
            self._unread.discard(room_id)

    def holders(self, room_id: str, level: int) -> set[str]:
        """The members of the room (other than the bot) with at least this power level, as of the
        last sync."""
        room = self.client.rooms.get(room_id)
        users = set(room.users) if room else set()
        return {u for u in users - {self.client.user_id} if self.power_level(room_id, u) >= level}

    def power_level(self, room_id: str, user_id: str) -> int:
        """The user's power level in the room as of the last sync (0 if unknown, or the bot is no
        longer in it)."""
        if user_id in self._creators.get(room_id, ()):
            return CREATOR_POWER_LEVEL
        room = self.client.rooms.get(room_id)
        return int(room.power_levels.get_user_level(user_id)) if room else 0

    def may_set_state(self, room_id: str, event_type: str) -> bool:
        """Whether the bot may set a state event of this type in the room (as of the last sync)."""
        if self.client.user_id in self._creators.get(room_id, ()):
            return True
        room = self.client.rooms.get(room_id)
        return bool(room and room.power_levels.can_user_send_state(self.client.user_id, event_type))

    def display_name(self, room_id: str, user_id: str) -> str | None:
        room = self.client.rooms.get(room_id)
        user = room.users.get(user_id) if room else None
        return user.display_name if user else None

    def room_name(self, room_id: str) -> str:
        """The room's name as clients show it (its id if the room is unknown)."""
        room = self.client.rooms.get(room_id)
        return str(room.display_name) if room else room_id

    def may_post(self, room_id: str) -> bool:
        """Whether the bot's power level allows it to post messages in the room, as of the last
        sync (True for a room it does not know: nothing speaks against it)."""
        room = self.client.rooms.get(room_id)
        if room is None or self.client.user_id in self._creators.get(room_id, ()):
            return True
        return bool(room.power_levels.can_user_send_message(self.client.user_id, "m.room.message"))

    async def invitation(self, room_id: str) -> Invitation | None:
        """Who invited the bot into a room it is in: the membership event that its join replaced
        (read from the room's state), when that was an invitation."""
        state = await self.client.room_get_state(room_id)
        if not isinstance(state, RoomGetStateResponse):
            raise _error(state)
        mine: dict[str, Any] = next(
            (e for e in state.events if e.get("type") == "m.room.member" and e.get("state_key") == self.client.user_id),
            {},
        )
        replaced = (mine.get("unsigned") or {}).get("replaces_state")
        if not isinstance(replaced, str):
            return None
        found = await self.client.room_get_event(room_id, replaced)
        if not isinstance(found, RoomGetEventResponse):
            raise _error(found)
        before = found.event.source
        if (before.get("content") or {}).get("membership") != "invite":
            return None
        return Invitation(replaced, str(before.get("sender")))

    async def leave(self, room_id: str) -> None:
        """Leave the room and forget it (the bot keeps nothing of it, and no longer knows it; nor
        who invited it there)."""
        left = await self.client.room_leave(room_id)
        if not isinstance(left, RoomLeaveResponse):
            raise _error(left)
        self._unread.discard(room_id)  # nothing left to read there
        async with self.db.transaction() as s:
            await invitations.left(s, [room_id])
        forgotten = await self.client.room_forget(room_id)
        if not isinstance(forgotten, RoomForgetResponse):
            raise _error(forgotten)


def _error(response: Any) -> MatrixError:
    """The refusal a nio response stands for, with the HTTP status when the homeserver sent one."""
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    if isinstance(response, ErrorResponse):
        message = f"{response.status_code or status}: {response.message}"
        return MatrixError(message, status, response.status_code)
    return MatrixError(type(response).__name__, status)
