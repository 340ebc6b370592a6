"""Lean Matrix clients for the benchmark: no room state kept beyond nio's own; encryption only for
those given a store (a device with keys, as Element's)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomCreateResponse,
    RoomKeyEvent,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from bench.homeserver import Account
from bot.room_keys import maintain_keys

# A timeline long enough that a one-second burst never comes back "limited" (with gaps).
SYNC_FILTER = {
    "room": {"timeline": {"limit": 1000}, "state": {"lazy_load_members": True}},
    "presence": {"not_types": ["*"]},
}


def client_for(homeserver: str, account: Account, store: Path | None = None) -> AsyncClient:
    """An AsyncClient already logged in with the account's token: with end-to-end encryption and
    its keys in `store` (a directory of its own), or without encryption."""
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(
        homeserver,
        account.user_id,
        store_path=str(store or ""),
        config=AsyncClientConfig(encryption_enabled=store is not None, store_sync_tokens=False),
    )
    client.restore_login(account.user_id, account.device_id, account.access_token)
    return client


def replied_to(source: dict[str, Any]) -> str | None:
    relates = source.get("content", {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


class Observer:
    """A client that long-polls sync and notes, for each event, when it arrived here.

    `timeline[room_id]` keeps every event in the order the homeserver hands them out (decrypted
    where it could be); `answered(event_id)` waits for the first reply to an event and returns its
    arrival time. With a `store` it is an encrypting device: it publishes its keys, and notes in
    `room_keys` each room key it receives with its arrival time."""

    def __init__(self, homeserver: str, account: Account, store: Path | None = None) -> None:
        self.client = client_for(homeserver, account, store)
        self.room_keys: list[tuple[float, RoomKeyEvent]] = []
        self.timeline: dict[str, list[dict[str, Any]]] = {}
        self.replies: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        first = await self.client.sync(timeout=0, sync_filter=SYNC_FILTER, full_state=True)
        assert isinstance(first, SyncResponse), first
        await maintain_keys(self.client)
        self._task = asyncio.create_task(self._loop(first.next_batch))

    async def _loop(self, since: str) -> None:
        while True:
            response = await self.client.sync(timeout=30_000, since=since, sync_filter=SYNC_FILTER)
            seen = time.perf_counter()
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.1)
                continue
            since = response.next_batch
            await maintain_keys(self.client)
            self.room_keys += [(seen, e) for e in response.to_device_events if isinstance(e, RoomKeyEvent)]
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    self._note(room_id, event.source, seen)

    def _note(self, room_id: str, source: dict[str, Any], seen: float) -> None:
        self.timeline.setdefault(room_id, []).append(source)
        target = replied_to(source)
        if target is None:
            return
        self.replies.setdefault(target, []).append((seen, source))
        future = self._waiting.get(target)
        if future and not future.done():
            future.set_result(seen)

    def answered(self, event_id: str) -> asyncio.Future[float]:
        """A future with the perf_counter time the first reply to `event_id` arrived."""
        future = self._waiting.setdefault(event_id, asyncio.get_running_loop().create_future())
        if event_id in self.replies and not future.done():
            future.set_result(self.replies[event_id][0][0])
        return future

    async def wait_for(self, room_id: str, predicate: Any, timeout: float = 60.0) -> dict[str, Any]:
        """The first event of `room_id` that matches `predicate`, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for source in self.timeline.get(room_id, []):
                if predicate(source):
                    return source
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no matching event in {room_id}")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        await self.client.close()


async def send_text(client: AsyncClient, room_id: str, body: str) -> str:
    """Send an m.text and return its event id."""
    content = {"msgtype": "m.text", "body": body}
    response = await client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)


async def round_trip(observer: Observer, room_id: str, body: str, timeout: float = 30.0) -> float:
    """Seconds from just before sending `body` to the moment sync brings the reply to it."""
    started = time.perf_counter()
    event_id = await send_text(observer.client, room_id, body)
    arrived = await asyncio.wait_for(observer.answered(event_id), timeout)
    return arrived - started


async def create_room(observer: Observer, name: str, invite: str) -> str:
    """A public room the observer creates, `invite` invited."""
    response = await observer.client.room_create(name=name, preset=RoomPreset.public_chat, invite=[invite])
    assert isinstance(response, RoomCreateResponse), response
    return str(response.room_id)


async def join_all(homeserver: str, people: list[Account], rooms: list[str], parallel: int = 8) -> list[AsyncClient]:
    """Clients of `people`, each joined to `rooms`, a few people at a time."""
    clients = [client_for(homeserver, p) for p in people]
    limit = asyncio.Semaphore(parallel)

    async def join(client: AsyncClient) -> None:
        async with limit:
            for room_id in rooms:
                await client.join(room_id)

    await asyncio.gather(*(join(c) for c in clients))
    return clients


def joined(user_id: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for `Observer.wait_for`: `user_id` joined."""
    return lambda e: (
        e.get("type") == "m.room.member" and e.get("state_key") == user_id and e["content"].get("membership") == "join"
    )
