"""`!raum widget`: the programme as a room widget, pinned by Element's layout — two state events
through the outbox, only by a coordinator of an official room; the use case called directly
refuses the same (a room the sender only owns, a form without a room)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.acting import Acting
from bot.config import WebConfig
from bot.dispatch import Incoming
from rules.errors import UserError
from rules.widget import LAYOUT_EVENT, WIDGET_EVENT, WIDGET_ID
from services.widget import add_widget
from tests.unit.fakes import COORDINATOR, NOW, FakeRooms, acting_for, configured, dispatcher_for

ROOM, OWN = "!room:localhost", "!own:localhost"
OWNER, STAFF = "@owner:localhost", "@staff:localhost"
BASE = "https://regiobot.example.org"


@pytest.fixture
async def setup(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    config = dataclasses.replace(
        config, web=WebConfig(("127.0.0.1", 8080), BASE, widget_hosts=("https://app.element.io",))
    )
    rooms = FakeRooms()
    rooms.levels[(OWN, OWNER)] = 100
    yield config, db, rooms
    await db.close()


async def test_a_coordinator_pins_the_widget_to_an_official_room(setup):
    config, db, rooms = setup
    dispatcher = dispatcher_for(config, db, rooms=rooms)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$w1", "!raum widget", None), NOW)
    states = dispatcher.outbox.states
    assert [(room, kind, key) for room, kind, key, _ in states] == [
        (ROOM, WIDGET_EVENT, WIDGET_ID),
        (ROOM, LAYOUT_EVENT, ""),
    ]
    widget, layout = states[0][3], states[1][3]
    assert widget["url"] == f"{BASE}/widget?widgetId=$matrix_widget_id" and widget["type"] == "m.custom"
    assert widget["creatorUserId"] == "@bot:localhost"
    assert layout["widgets"][WIDGET_ID]["container"] == "top"
    assert "angeheftet" in dispatcher.outbox.bodies()[-1]


async def test_without_widget_hosts_the_coordinator_is_told_no_client_may_show_it(setup):
    config, db, rooms = setup
    config = dataclasses.replace(config, web=WebConfig(("127.0.0.1", 8080), BASE))
    dispatcher = dispatcher_for(config, db, rooms=rooms)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$w1", "!raum widget", None), NOW)
    assert "widget_hosts" in dispatcher.outbox.bodies()[-1] and len(dispatcher.outbox.states) == 2


async def test_staff_and_rooms_that_are_not_official_get_no_widget(setup):
    config, db, rooms = setup
    dispatcher = dispatcher_for(config, db, rooms=rooms)
    await dispatcher.handle(Incoming(ROOM, STAFF, "$w1", "!raum widget", None), NOW)
    await dispatcher.handle(Incoming(OWN, OWNER, "$w2", "!raum widget", None), NOW)
    await dispatcher.handle(Incoming(OWN, COORDINATOR, "$w3", "!raum widget", None), NOW)
    assert dispatcher.outbox.states == []
    assert "offiziellen Räumen" in dispatcher.outbox.bodies()[-1]


async def test_without_the_power_to_set_room_state_the_coordinator_is_told_what_to_do(setup):
    config, db, rooms = setup
    dispatcher = dispatcher_for(config, db, rooms=rooms)
    dispatcher.outbox.muted.add(ROOM)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$w1", "!raum widget", None), NOW)
    assert dispatcher.outbox.states == [] and "Berechtigungsstufe 50" in dispatcher.outbox.bodies()[-1]


def test_the_use_case_decides_the_role_and_the_room_itself(setup):
    config, _, rooms = setup

    def acting(sender: str, room_id: str) -> Acting:
        return acting_for(config, sender, room_id, rooms)

    for sender, room_id, key in [
        (STAFF, ROOM, "errors.role_required_in_room"),
        (OWNER, OWN, "widget.not_official"),
        (COORDINATOR, "", "widget.not_official"),  # a form names no room
    ]:
        act = acting(sender, room_id)
        with pytest.raises(UserError) as refused:
            add_widget(act)
        assert refused.value.key == key and act.messages == []
    done = acting(COORDINATOR, ROOM)
    add_widget(done)
    assert [m.state_key for m, _ in done.messages] == [WIDGET_ID, ""]
