"""Room keys shared ahead (bot.room_keys): a wave of joins is one sharing, after the members' keys
are known; sends wait only for their own room's key query; failures are retried on the next
change; devices learnt during a sharing get a new key; stopping cancels what is planned.
(Against nio and Synapse: tests/e2e/test_encryption.py.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from nio import Event, MatrixRoom

from bot import room_keys
from bot.room_keys import RoomKeys

BOT = "@bot:localhost"


class FakeOlm:
    def __init__(self) -> None:
        self.users_for_key_query: set[str] = set()
        self.shared: set[str] = set()

    def should_share_group_session(self, room_id: str) -> bool:
        return room_id not in self.shared

    def add_changed_users(self, users: set[str]) -> None:
        self.users_for_key_query |= users


class FakeClient:
    """What RoomKeys uses of nio's client: key queries that can be held, sharings recorded."""

    def __init__(self) -> None:
        self.olm = FakeOlm()
        self.rooms: dict[str, MatrixRoom] = {}
        self.sharing_session: dict[str, asyncio.Event] = {}
        self.devices: dict[str, list[str]] = {}
        self.device_store = SimpleNamespace(
            active_user_devices=lambda user: [SimpleNamespace(id=d) for d in self.devices.get(user, [])]
        )
        self.queries: list[set[str]] = []
        self.query_gate = asyncio.Event()
        self.query_gate.set()
        self.shared: list[tuple[str, set[str]]] = []  # (room, users whose keys were still missing)
        self.share_failures: list[Exception] = []
        self.during_share: list[Any] = []  # callables run while a sharing is under way
        self.invalidated: list[str] = []
        self.should_upload_keys = self.should_claim_keys = False

    @property
    def should_query_keys(self) -> bool:
        return bool(self.olm.users_for_key_query)

    async def keys_query(self) -> None:
        asked = set(self.olm.users_for_key_query)
        self.queries.append(asked)
        await self.query_gate.wait()
        self.olm.users_for_key_query -= asked

    async def send_to_device_messages(self) -> None:
        return None

    async def share_group_session(self, room_id: str, ignore_unverified_devices: bool) -> None:
        assert room_id not in self.sharing_session
        self.sharing_session[room_id] = asyncio.Event()
        self.shared.append((room_id, set(self.olm.users_for_key_query)))
        await asyncio.sleep(0)
        for action in self.during_share:
            action()
        self.during_share.clear()
        if self.share_failures:
            raise self.share_failures.pop()
        self.olm.shared.add(room_id)
        self.sharing_session.pop(room_id).set()

    def invalidate_outbound_session(self, room_id: str) -> None:
        self.invalidated.append(room_id)
        self.olm.shared.discard(room_id)

    def room(self, room_id: str, *members: str) -> MatrixRoom:
        room = MatrixRoom(room_id, BOT, encrypted=True)
        room.members_synced = True
        for user in (BOT, *members):
            room.add_member(user, None, None)
        self.rooms[room_id] = room
        return room

    def join(self, room_id: str, user: str) -> SimpleNamespace:
        """A sync in which `user` joins the room (nio would now want their keys and drop the room key)."""
        self.rooms[room_id].add_member(user, None, None)
        self.devices[user] = [f"{user}-phone"]
        self.olm.users_for_key_query.add(user)
        self.olm.shared.discard(room_id)
        member = {"type": "m.room.member", "state_key": user, "sender": user, "content": {"membership": "join"}}
        event = Event.parse_event({**member, "event_id": f"$join-{user}", "origin_server_ts": 1})
        return sync({room_id: [event]})


def sync(timelines: dict[str, list[Any]], changed: tuple[str, ...] = ()) -> SimpleNamespace:
    join = {r: SimpleNamespace(state=[], timeline=SimpleNamespace(events=events)) for r, events in timelines.items()}
    devices = SimpleNamespace(changed=list(changed), left=[])
    return SimpleNamespace(rooms=SimpleNamespace(join=join), device_list=devices)


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(room_keys, "SETTLE", 0.05)
    monkeypatch.setattr(room_keys, "SETTLE_AT_MOST", 2.0)


async def until(condition: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


Hall = tuple[FakeClient, RoomKeys]


@pytest.fixture
async def hall() -> AsyncIterator[Hall]:
    """The bot and Anna in an encrypted room, its room keys kept up (stopped after the test)."""
    client = FakeClient()
    client.room("!hall:localhost", "@anna:localhost")
    keys = RoomKeys(client)  # type: ignore[arg-type]
    yield client, keys
    await keys.close()


@pytest.fixture
async def bernd_held(hall: Hall) -> Hall:
    """Bernd has just joined the hall; the query for his keys is held until the test lets it go."""
    client, keys = hall
    client.query_gate.clear()
    keys.after_sync(client.join("!hall:localhost", "@bernd:localhost"))  # type: ignore[arg-type]
    return hall


async def test_a_wave_of_joins_is_one_sharing_after_the_keys_are_known(hall: Hall) -> None:
    client, keys = hall
    for i in range(30):
        keys.after_sync(client.join("!hall:localhost", f"@p{i}:localhost"))  # type: ignore[arg-type]
        await asyncio.sleep(0.005)
    await until(lambda: client.shared)
    await asyncio.sleep(0.2)
    assert client.shared == [("!hall:localhost", set())]  # once, with every member's keys known
    assert set().union(*client.queries) == {f"@p{i}:localhost" for i in range(30)}


async def test_the_first_sync_of_a_start_plans_no_sharing(hall: Hall) -> None:
    client, keys = hall
    keys.after_sync(client.join("!hall:localhost", "@bernd:localhost"), first=True)  # type: ignore[arg-type]
    await asyncio.sleep(0.2)
    assert client.queries == [{"@bernd:localhost"}] and client.shared == []


async def test_a_send_waits_for_its_own_rooms_key_query_only(bernd_held: Hall) -> None:
    client, keys = bernd_held
    client.room("!quiet:localhost", "@anna:localhost")
    await asyncio.wait_for(keys.known("!quiet:localhost"), 0.5)
    waiting = asyncio.create_task(keys.known("!hall:localhost"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    client.query_gate.set()
    await asyncio.wait_for(waiting, 1)


async def test_a_device_change_during_a_key_query_is_queried_again(bernd_held: Hall) -> None:
    client, keys = bernd_held
    await until(lambda: client.queries)
    keys.after_sync(sync({}, changed=("@bernd:localhost",)))  # type: ignore[arg-type]
    client.query_gate.set()
    await until(lambda: len(client.queries) == 2)
    assert client.queries == [{"@bernd:localhost"}, {"@bernd:localhost"}]


async def test_a_failed_sharing_is_logged_and_tried_again_on_the_next_change(hall: Hall, caplog) -> None:
    client, keys = hall
    client.share_failures.append(ConnectionError("gone"))
    with caplog.at_level(logging.WARNING, "bot.room_keys"):
        keys.after_sync(client.join("!hall:localhost", "@bernd:localhost"))  # type: ignore[arg-type]
        await until(lambda: "could not share the room key" in caplog.text)
    assert client.sharing_session == {}  # a send does not wait for a sharing that failed
    keys.after_sync(client.join("!hall:localhost", "@clara:localhost"))  # type: ignore[arg-type]
    await until(lambda: "!hall:localhost" in client.olm.shared)
    assert len(client.shared) == 2


async def test_devices_learnt_while_sharing_get_a_new_key(hall: Hall) -> None:
    client, keys = hall
    client.during_share.append(lambda: client.devices.setdefault("@anna:localhost", []).append("laptop"))
    keys.after_sync(client.join("!hall:localhost", "@bernd:localhost"))  # type: ignore[arg-type]
    await until(lambda: len(client.shared) == 2 and "!hall:localhost" in client.olm.shared)
    assert client.invalidated == ["!hall:localhost"]


async def test_stopping_cancels_the_planned_sharing_and_the_upkeep(bernd_held: Hall) -> None:
    client, keys = bernd_held
    waiting = asyncio.create_task(keys.known("!hall:localhost"))
    await asyncio.sleep(0.1)
    await asyncio.wait_for(keys.close(), 1)
    await asyncio.wait_for(waiting, 1)  # a send waiting for the keys is let go
    await asyncio.sleep(0.1)
    assert client.shared == []
