"""An official room the bot is no longer in (bot.removals): it stays official, but its power levels
count for no role until the bot is back in it; nothing more is sent there; the coordinators are
told once for each removal. (Against Synapse: tests/e2e/test_coordination.py.)"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from nio import AsyncClient, SyncResponse
from sqlmodel import select

from bot.matrix import Matrix, MatrixError
from bot.removals import Removals
from bot.roles import Role, Roles
from bot.rooms import OfficialRooms
from bot.sync_loop import removal_marks
from storage.models import OutboxMessage
from tests.unit.fakes import COORDINATOR, NOW, configured

BOT, PAUL, STAFF = "@bot:localhost", "@paul:localhost", "@staff:localhost"
OFFICIAL, ENABLED, OTHER = "!official:localhost", "!enabled:localhost", "!other:localhost"


def state(room_id: str) -> dict[str, Any]:
    """A sync's entry for a room the bot is in: Paul holds power level 100 there."""

    def event(kind: str, key: str, content: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            "type": kind,
            "state_key": key,
            "sender": PAUL,
            "content": content,
            "event_id": f"${n}{room_id}",
            "origin_server_ts": n,
        }

    events = [
        event("m.room.create", "", {"creator": PAUL, "room_version": "10"}, 1),
        *(event("m.room.member", user, {"membership": "join"}, n) for n, user in enumerate((PAUL, STAFF, BOT), 2)),
        event("m.room.name", "", {"name": "Regiopol Paderborn"}, 5),
        event("m.room.power_levels", "", {"users": {PAUL: 100, BOT: 100}}, 6),
    ]
    return {"state": {"events": events}, "timeline": {"events": []}}


def sync(join: tuple[str, ...] = (), leave: dict[str, dict[str, Any]] | None = None, batch: str = "s2") -> SyncResponse:
    rooms = {"join": {room_id: state(room_id) for room_id in join}, "leave": leave or {}}
    response = SyncResponse.from_dict({"next_batch": batch, "rooms": rooms})
    assert isinstance(response, SyncResponse)
    return response


def kicked(room_id: str) -> dict[str, Any]:
    """A sync's entry for a room the bot was removed from by Paul."""
    kick = {"type": "m.room.member", "state_key": BOT, "sender": PAUL, "content": {"membership": "leave"}}
    return {room_id: {"timeline": {"events": [{**kick, "event_id": "$kick", "origin_server_ts": 1}]}}}


@pytest.fixture
async def world(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url, rooms={OFFICIAL: "Paderborn"})
    client = AsyncClient("http://127.0.0.1:1", BOT)
    client.user_id = BOT  # as logging in sets it
    await client.receive_response(sync(join=(OFFICIAL, ENABLED, OTHER), batch="s1"))
    matrix = Matrix(client, db, "store key")
    official = OfficialRooms(config.official_rooms)
    official.enabled(ENABLED, "Bielefeld")
    removals = Removals(config, db, official, matrix, lambda: NOW)
    yield SimpleNamespace(
        client=client, db=db, matrix=matrix, roles=Roles(config.roles, matrix, official), removals=removals
    )
    await client.close()
    await db.close()


async def told(db) -> list[tuple[str | None, str]]:
    async with db.transaction() as s:
        rows = (await s.exec(select(OutboxMessage).order_by(OutboxMessage.user_id))).all()
    return [(row.user_id, json.loads(row.content)["body"]) for row in rows]


async def test_power_levels_count_only_while_the_bot_is_in_the_official_room(world):
    assert world.roles.in_room(OFFICIAL, PAUL) == Role.COORDINATOR
    world.removals.forget(removal_marks(sync(leave=kicked(OFFICIAL)), BOT))
    assert world.roles.in_room(OFFICIAL, PAUL) == Role.STAFF  # what the bot last saw is not trusted
    assert world.roles.official.is_official(OFFICIAL)  # the room stays official: its sessions stay listed
    assert world.roles.in_room(OFFICIAL, COORDINATOR) == Role.COORDINATOR  # the config list counts everywhere
    await world.client.receive_response(sync(join=(OFFICIAL,), batch="s3"))  # invited back and joined
    assert world.roles.in_room(OFFICIAL, PAUL) == Role.COORDINATOR


async def test_the_coordinators_of_the_room_and_of_the_config_are_told_once_a_removal(world):
    marks = removal_marks(sync(leave={**kicked(OFFICIAL), OTHER: {}}), BOT)
    assert marks == {OFFICIAL: "$kick", OTHER: "s2"}  # the kick names the removal, else the sync
    removals = world.removals.forget(marks)
    await world.removals.tell(removals)
    await world.removals.tell(removals)  # the same batch again (after a crash): told once
    messages = await told(world.db)
    assert [person for person, _ in messages] == sorted([COORDINATOR, PAUL])  # not for OTHER: not official
    assert all("nicht mehr im offiziellen Raum „Regiopol Paderborn“ (Region: Paderborn)" in m for _, m in messages)
    assert world.roles.in_room(OTHER, PAUL) == Role.STAFF


async def test_a_room_enabled_at_run_time_is_handled_alike(world):
    await world.removals.tell(world.removals.forget({ENABLED: "$gone"}))
    assert world.roles.in_room(ENABLED, PAUL) == Role.STAFF and world.roles.official.is_official(ENABLED)
    assert all("(Region: Bielefeld)" in m for _, m in await told(world.db))


async def test_nothing_is_sent_to_a_room_the_bot_is_not_in_and_that_is_final(world):
    world.client.olm = SimpleNamespace()  # as with encryption on, where nio refuses a room it does not know
    world.matrix.forget([OFFICIAL])
    with pytest.raises(MatrixError) as refused:
        await world.matrix.send(OFFICIAL, {"msgtype": "m.text", "body": "Erinnerung"}, "tx1")
    assert refused.value.errcode == "M_FORBIDDEN" and not refused.value.temporary  # failed and reported, not retried
