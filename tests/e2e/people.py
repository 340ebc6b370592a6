"""Real Matrix clients that play staff, moderators and coordinators in the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
from collections.abc import Callable
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    MemoryDownloadResponse,
    MessageDirection,
    RoomCreateResponse,
    RoomKeyEvent,
    RoomMessagesResponse,
    RoomRedactResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.crypto import decrypt_attachment

from bot.devserver import Synapse
from bot.matrix import ENCRYPTION_STATE
from bot.room_keys import maintain_keys

Event = dict[str, Any]
_serial = itertools.count(1)
# What a person's sync asks for: Synapse's default of 10 timeline events per room would cut a burst
# of the bot's answers ("limited") and leave out some that were sent. 100 is the most the test
# homeserver gives (Synapse's default `filter_timeline_limit`).
TIMELINE_FILTER = {"room": {"timeline": {"limit": 100}}}


def replied_to(event: Event) -> str | None:
    """The event id an event answers (m.in_reply_to), if any."""
    relates = event.get("content", {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


class Person:
    """A logged-in user who sees every event of their rooms (a background sync), with an
    end-to-end encryption store of their own: they read encrypted rooms like Element does.
    Events they could decrypt are recorded decrypted, marked `"encrypted": True`."""

    def __init__(self, synapse: Synapse, localpart: str, password: str) -> None:
        self._store = tempfile.TemporaryDirectory(prefix=f"{localpart}-store-")
        self.client = AsyncClient(
            synapse.url,
            synapse.user_id(localpart),
            store_path=self._store.name,
            config=AsyncClientConfig(store_sync_tokens=False, encryption_enabled=True),
        )
        self.password = password
        self.events: list[Event] = []
        self.room_keys: list[RoomKeyEvent] = []  # room keys their device received (decrypted)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def start(self) -> Person:
        response = await self.client.login(self.password)
        assert isinstance(response, LoginResponse), response
        first = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        await maintain_keys(self.client)  # the device's keys are published, as Element does at once
        self._task = asyncio.create_task(self._sync_forever(first.next_batch))
        return self

    async def _sync_forever(self, since: str) -> None:
        while True:
            response = await self.client.sync(timeout=500, since=since, sync_filter=TIMELINE_FILTER)
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            since = response.next_batch
            await maintain_keys(self.client)
            for room_id in response.rooms.invite:
                await self.client.join(room_id)
            keys = [e for e in response.to_device_events if isinstance(e, RoomKeyEvent)]
            fresh = [
                dict(e.source, room_id=room_id, encrypted=bool(getattr(e, "decrypted", False)))
                for room_id, info in response.rooms.join.items()
                for e in info.timeline.events
            ]
            if fresh or keys:
                async with self._changed:
                    self.events.extend(fresh)
                    self.room_keys.extend(keys)
                    self._changed.notify_all()

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        await self.client.close()
        self._store.cleanup()

    async def create_room(
        self,
        invite: list[str],
        name: str | None = "Regiopol Akademie (Test)",
        encrypted: bool = False,
        direct: bool = False,
    ) -> str:
        response = await self.client.room_create(
            name=name, invite=invite, is_direct=direct, initial_state=[ENCRYPTION_STATE] if encrypted else []
        )
        assert isinstance(response, RoomCreateResponse), response
        return str(response.room_id)

    async def join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        assert isinstance(response, JoinResponse), response
        await self.knows(room_id)

    async def knows(self, room_id: str, timeout: float = 15.0) -> None:
        """Wait until this person's sync has brought the room (needed before sending into it)."""
        deadline = time.monotonic() + timeout
        while room_id not in self.client.rooms:
            assert time.monotonic() < deadline, f"{self.user_id} never saw room {room_id}"
            await asyncio.sleep(0.05)

    async def say(
        self,
        room_id: str,
        body: str,
        thread_root: str | None = None,
        msgtype: str = "m.text",
        extra: dict[str, Any] | None = None,
    ) -> str:
        content: dict[str, Any] = {"msgtype": msgtype, "body": body, **(extra or {})}
        if thread_root:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread_root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": thread_root},
            }
        await self.knows(room_id)
        response = await self.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        await self.knows(room_id)
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        response = await self.client.room_send(room_id, "m.reaction", content, ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def redact(self, room_id: str, event_id: str) -> str:
        response = await self.client.room_redact(room_id, event_id)
        assert isinstance(response, RoomRedactResponse), response
        return str(response.event_id)

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 15.0, count: int = 1) -> list[Event]:
        """The first `count` events matching `predicate`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                found = [e for e in self.events if predicate(e)]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.user_id} saw {len(found)} of {count} expected events")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def room_key(self, room_id: str, sender: str, timeout: float = 15.0) -> RoomKeyEvent:
        """The first room key for `room_id` from `sender` that this person's device received."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not (found := [k for k in self.room_keys if k.room_id == room_id and k.sender == sender]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.user_id} received no room key for {room_id} from {sender}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
            return found[0]

    def answers_to(self, event_id: str) -> list[Event]:
        return [e for e in self.events if replied_to(e) == event_id]

    async def answer(self, room_id: str, event_id: str, timeout: float = 15.0) -> Event:
        """The bot's answer to one command."""
        return (await self.wait_for(lambda e: replied_to(e) == event_id and e["room_id"] == room_id, timeout))[0]

    async def ask(self, room_id: str, body: str, **kwargs: Any) -> Event:
        """Send a command and return the bot's answer."""
        return await self.answer(room_id, await self.say(room_id, body, **kwargs))

    async def download(self, event: Event) -> bytes:
        """The content of an m.file event (decrypted, when it is an encrypted attachment)."""
        content = event["content"]
        encrypted = content.get("file")
        response = await self.client.download(mxc=encrypted["url"] if encrypted else content["url"])
        assert isinstance(response, MemoryDownloadResponse), response
        if encrypted:
            return decrypt_attachment(
                response.body, encrypted["key"]["k"], encrypted["hashes"]["sha256"], encrypted["iv"]
            )
        return bytes(response.body)


async def shared_room(coordinator: Person, bot_id: str, *staff: Person, official: bool = True) -> str:
    """A room the coordinator makes with the bot and `staff` in it; `official`: the coordinator (a
    coordinator from the bot's config) enables it as an official room of both regions."""
    room_id = await coordinator.create_room(invite=[bot_id, *(p.user_id for p in staff)])
    for person in staff:
        await person.join(room_id)
    await coordinator.wait_for(
        lambda e: e["sender"] == bot_id and e["room_id"] == room_id and e.get("type") == "m.room.message"
    )
    if official:
        assert "offizieller Raum" in body(await coordinator.ask(room_id, "!raum freischalten beide"))
    return room_id


async def room_history(person: Person, room_id: str) -> list[Event]:
    """Every message event of the room as the homeserver keeps it (/messages, newest first)."""
    events: list[Event] = []
    start = ""
    while True:
        page = await person.client.room_messages(room_id, start=start, direction=MessageDirection.back, limit=100)
        assert isinstance(page, RoomMessagesResponse), page
        events += [e.source for e in page.chunk]
        if not page.chunk or not page.end:
            return events
        start = page.end


def body(event: Event) -> str:
    """The text of a message ("" for events without one, such as memberships)."""
    return str(event.get("content", {}).get("body", ""))


def membership_of(user_id: str, room_id: str, membership: str) -> Callable[[Event], bool]:
    """Matches the event in which `user_id`'s membership of the room becomes `membership`."""

    def matches(e: Event) -> bool:
        return (
            e.get("type") == "m.room.member"
            and e.get("state_key") == user_id
            and e["room_id"] == room_id
            and e["content"].get("membership") == membership
        )

    return matches


async def new_person(server: Synapse, name: str) -> Person:
    """Register a fresh user (`name` plus a number) on `server` and start their client."""
    localpart = f"{name}{next(_serial)}"
    await server.register(localpart, f"pw-{localpart}")
    return await Person(server, localpart, f"pw-{localpart}").start()
