"""The cap on rooms per person who invites the bot: the decision, the rows that remember who invited
it where, and the message to someone beyond the cap."""

from __future__ import annotations

import json
from datetime import timedelta

from nio import RoomForgetResponse, RoomLeaveResponse
from sqlmodel import select

from bot.invitations import Invitations
from bot.matrix import Matrix
from bot.rooms import OfficialRooms
from rules.joining import ROOMS_PER_INVITER, may_join
from storage import export, invitations, purge
from storage.models import OutboxMessage
from tests.postgres import on_both_databases
from tests.unit.fakes import NOW, configured

INES, KAI = "@ines:localhost", "@kai:localhost"
OFFICIAL = "!official:localhost"


def official(room_id: str) -> bool:
    return room_id == OFFICIAL


def rooms(count: int) -> list[str]:
    return [f"!r{n}:localhost" for n in range(count)]


def test_the_cap_counts_the_rooms_one_invited_the_bot_into():
    assert may_join("!new:localhost", rooms(2), official, cap=3)
    assert not may_join("!new:localhost", rooms(3), official, cap=3)
    assert may_join("!new:localhost", [], official, cap=1)
    assert not may_join("!new:localhost", [], official, cap=0)


def test_official_rooms_count_for_no_one():
    assert may_join(OFFICIAL, rooms(3), official, cap=3)  # into an official room always
    assert may_join("!new:localhost", [*rooms(2), OFFICIAL], official, cap=3)  # one made official since


def test_a_room_invited_into_again_counts_once():
    assert may_join("!r0:localhost", rooms(3), official, cap=3)


@on_both_databases
async def test_who_invited_the_bot_is_kept_until_it_leaves(migrated):
    async with migrated.transaction() as s:
        await invitations.record(s, "!a:localhost", INES, NOW)
        await invitations.record(s, "!b:localhost", INES, NOW + timedelta(minutes=1))
        await invitations.record(s, "!c:localhost", KAI, NOW)
        await invitations.record(s, "!c:localhost", INES, NOW + timedelta(minutes=2))  # joined again, by Ines
    async with migrated.transaction() as s:
        assert await invitations.rooms_invited_by(s, INES) == ["!a:localhost", "!b:localhost", "!c:localhost"]
        assert await invitations.rooms_invited_by(s, KAI) == []
        await invitations.left(s, ["!a:localhost", "!elsewhere:localhost"])
        await invitations.left(s, [])
    async with migrated.transaction() as s:
        assert await invitations.rooms_invited_by(s, INES) == ["!b:localhost", "!c:localhost"]


async def test_the_inviter_is_exported_deleted_and_purged(migrated):
    async with migrated.transaction() as s:
        await invitations.record(s, "!old:localhost", INES, NOW - timedelta(days=100))
        await invitations.record(s, "!new:localhost", INES, NOW)
        await invitations.record(s, "!kais:localhost", KAI, NOW - timedelta(days=100))
    async with migrated.transaction() as s:
        data = await export.person_data(s, INES)
        assert [r.room_id for r in data.rooms_invited] == ["!old:localhost", "!new:localhost"]
        await purge.purge_ended(s, NOW - timedelta(days=90))
    async with migrated.transaction() as s:
        assert await invitations.rooms_invited_by(s, INES) == ["!new:localhost"]
        assert await invitations.rooms_invited_by(s, KAI) == []
        await purge.forget_person(s, INES)
    async with migrated.transaction() as s:
        assert await invitations.rooms_invited_by(s, INES) == []


async def test_beyond_the_cap_the_inviter_is_told_once_a_day(tmp_path, migrated_url):
    config, db = await configured(tmp_path, "@anna:localhost", migrated_url, rooms={OFFICIAL: "Bielefeld"})
    official_rooms = OfficialRooms(config.official_rooms)
    now = NOW
    desk = Invitations(config, db, official_rooms, lambda: now)
    try:
        for room_id in rooms(ROOMS_PER_INVITER):
            assert await desk.admit(room_id, INES)
            await desk.joined(room_id, INES)
        assert await desk.admit(OFFICIAL, INES)  # an official room is joined, and not counted
        await desk.joined(OFFICIAL, INES)
        assert await desk.admit("!mine:localhost", KAI)  # another person's cap is their own
        assert not await desk.admit("!one-more:localhost", INES)
        assert not await desk.admit("!and-another:localhost", INES)
        now = NOW + timedelta(days=1)
        assert not await desk.admit("!next-day:localhost", INES)
        async with db.transaction() as s:
            assert len(await invitations.rooms_invited_by(s, INES)) == ROOMS_PER_INVITER
            told = (await s.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        assert [(m.user_id, m.room_id) for m in told] == [(INES, None), (INES, None)]  # once a day
        body = json.loads(told[0].content)["body"]
        assert f"schon in {ROOMS_PER_INVITER} Räumen" in body and "freizuschalten" in body
    finally:
        await db.close()


class LeavingClient:
    """Stands in for nio's client where the bot leaves and forgets rooms."""

    user_id = "@bot:localhost"

    def add_response_callback(self, *_: object) -> None:
        pass

    async def room_leave(self, room_id: str) -> RoomLeaveResponse:
        return RoomLeaveResponse()

    async def room_forget(self, room_id: str) -> RoomForgetResponse:
        return RoomForgetResponse(room_id)


async def test_the_room_the_bot_leaves_no_longer_counts(migrated):
    """As when it leaves a room where it may not post (`bot.deliverer`)."""
    async with migrated.transaction() as s:
        await invitations.record(s, "!quiet:localhost", INES, NOW)
        await invitations.record(s, "!other:localhost", INES, NOW)
    await Matrix(LeavingClient(), migrated, "store key").leave("!quiet:localhost")  # type: ignore[arg-type]
    async with migrated.transaction() as s:
        assert await invitations.rooms_invited_by(s, INES) == ["!other:localhost"]
