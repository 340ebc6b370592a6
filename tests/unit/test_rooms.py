"""Official rooms: only there do power levels count and sessions get created; listings show only
their sessions, in a region's room only that region's and those for both."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.dispatch import Incoming
from bot.rooms import BOTH
from rules.errors import UserError
from services import rooms as official_rooms
from storage import rooms as stored_rooms
from storage import sessions
from tests.unit.fakes import NOW, FakeRooms, acting_for, configured, dispatcher_for

BIELEFELD, PADERBORN, OWN, DIRECT = "!bi:localhost", "!pb:localhost", "!own:localhost", "!dm:localhost"
COORDINATOR, ROOM_ADMIN, STAFF = "@coord:localhost", "@admin:localhost", "@staff:localhost"
START = (NOW + timedelta(days=5)).astimezone().strftime("%d.%m.%Y %H:%M")


@pytest.fixture
async def bot(tmp_path, migrated_url):
    config, db = await configured(
        tmp_path, COORDINATOR, migrated_url, rooms={BIELEFELD: "Bielefeld", PADERBORN: "Paderborn"}
    )
    rooms = FakeRooms()
    rooms.levels.update({(OWN, STAFF): 100, (DIRECT, STAFF): 100, (OWN, ROOM_ADMIN): 100})
    dispatcher = dispatcher_for(config, db, rooms=rooms)
    count = iter(range(1000))

    async def say(room: str, sender: str, body: str) -> str:
        number = next(count)
        await dispatcher.handle(
            Incoming(room, sender, f"$e{number}", body, sent_at=NOW + timedelta(seconds=number)), NOW
        )
        return dispatcher.outbox.bodies()[-1]

    yield dispatcher, say
    await db.close()


async def test_a_staff_members_own_room_grants_no_role_and_creates_no_session(bot):
    dispatcher, say = bot
    for room in (OWN, DIRECT):
        answer = await say(room, STAFF, f"!termin neu Gefälschte Schulung | {START} | Link: https://evil.example/login")
        assert "vorbehalten" in answer
    async with dispatcher.db.transaction() as s:
        assert await sessions.get_session(s, 1) is None


async def test_sessions_are_created_only_in_official_rooms_or_named_by_a_config_coordinator(bot):
    dispatcher, say = bot
    assert "keine Termine" in await say(OWN, COORDINATOR, f"!termin neu Wärme | {START}")
    assert "angelegt" in await say(DIRECT, COORDINATOR, f"!termin neu Wärme | {START} | Raum: {BIELEFELD}")
    assert "keine Termine" in await say(DIRECT, COORDINATOR, f"!termin neu Wärme | {START} | Raum: {OWN}")
    async with dispatcher.db.transaction() as s:
        created = await sessions.get_session(s, 1)
    assert created is not None and created.room_id == BIELEFELD and created.region == "Bielefeld"


async def test_listings_show_official_sessions_of_the_rooms_region_and_both(bot):
    _dispatcher, say = bot
    await say(BIELEFELD, COORDINATOR, f"!termin neu Nur Bielefeld | {START}")
    await say(PADERBORN, COORDINATOR, f"!termin neu Nur Paderborn | {START}")
    await say(PADERBORN, COORDINATOR, f"!termin neu Für beide | {START} | Region: beide")
    in_bielefeld = await say(BIELEFELD, STAFF, "!termine")
    assert "Nur Bielefeld" in in_bielefeld and "Für beide" in in_bielefeld and "Nur Paderborn" not in in_bielefeld
    everywhere = await say(DIRECT, STAFF, "!termine")
    assert all(title in everywhere for title in ("Nur Bielefeld", "Nur Paderborn", "Für beide"))


async def test_enabling_a_room_makes_its_power_levels_count_and_only_config_coordinators_may(bot):
    _dispatcher, say = bot
    assert "vorbehalten" in await say(OWN, ROOM_ADMIN, "!raum freischalten Paderborn")
    assert "vorbehalten" in await say(OWN, ROOM_ADMIN, f"!termin neu Test | {START}")
    assert "offizieller Raum" in await say(OWN, COORDINATOR, "!raum freischalten Paderborn")
    assert "angelegt" in await say(OWN, ROOM_ADMIN, f"!termin neu Test | {START}")
    assert "Konfiguration" in await say(BIELEFELD, COORDINATOR, "!raum sperren")
    assert "kein offizieller Raum mehr" in await say(OWN, COORDINATOR, "!raum sperren")
    assert "vorbehalten" in await say(OWN, ROOM_ADMIN, f"!termin neu Test 2 | {START}")
    assert "Einen Termin #1 gibt es nicht" in await say(DIRECT, STAFF, "!anmelden #1")


async def test_only_a_configured_coordinator_makes_a_room_official_whatever_the_face(tmp_path, migrated_url):
    """The use cases decide it themselves: room power, even in an official room, is not enough."""
    config, db = await configured(tmp_path, COORDINATOR, migrated_url, rooms={BIELEFELD: "Bielefeld"})
    levels = FakeRooms()
    levels.levels.update({(OWN, ROOM_ADMIN): 100, (BIELEFELD, ROOM_ADMIN): 100})
    async with db.transaction() as s:
        for room_id in (OWN, BIELEFELD, ""):  # its own room, an official room it rules, the web
            admin = acting_for(config, ROOM_ADMIN, room_id, levels)
            for attempt in (
                official_rooms.enable(admin, s, OWN, "Paderborn"),
                official_rooms.disable(admin, s, OWN),
                official_rooms.choose_board(admin, s, BIELEFELD),
            ):
                with pytest.raises(UserError) as refused:
                    await attempt
                assert refused.value.key == "rooms.configured_only"
        assert await stored_rooms.enabled_rooms(s) == {}
        coordinator = acting_for(config, COORDINATOR, "")  # on the web: no room of its own
        with pytest.raises(UserError) as refused:
            await official_rooms.enable(coordinator, s, BIELEFELD, None)
        assert refused.value.key == "rooms.configured_room"
        assert await official_rooms.enable(coordinator, s, OWN, None) == BOTH
        assert await stored_rooms.enabled_rooms(s) == {OWN: BOTH}
    assert not coordinator.official.is_official(OWN)  # until the change is committed
    for hook in coordinator.after_commit:
        hook()
    assert coordinator.official.region(OWN) == BOTH
    await db.close()
