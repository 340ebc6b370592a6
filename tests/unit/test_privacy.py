"""Privacy: the notice on a first registration, export, deletion, and the purge after the retention period."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.dispatch import Incoming
from storage import people, registrations, sessions
from tests.unit.fakes import COORDINATOR, NOW

ROOM = "!room:localhost"
BERND = "@bernd:localhost"


def say(body: str, sender: str, event_id: str) -> Incoming:
    return Incoming(ROOM, sender, event_id, body, None)


async def setup_session(dispatcher, outbox, capacity: int = 1, days: int = 3) -> None:
    start = (NOW + timedelta(days=days)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(
        say(f"!termin neu Fördermittel | {start} | Plätze: {capacity}", COORDINATOR, f"$new{days}"), NOW
    )


async def test_privacy_notice_only_with_the_first_registration(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox, capacity=5)
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW)
    assert "Datenschutz" in outbox.bodies()[-1] and "90 Tage" in outbox.bodies()[-1]
    await dispatcher.handle(say("!abmelden #1", BERND, "$u1"), NOW)
    await dispatcher.handle(say("!anmelden #1", BERND, "$r2"), NOW)
    assert "angemeldet" in outbox.bodies()[-1] and "Datenschutz" not in outbox.bodies()[-1]


async def test_my_data_is_sent_privately_as_json(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox)
    await dispatcher.handle(say("!anmelden #1 Stadt Bielefeld", BERND, "$r1"), NOW)
    await dispatcher.handle(say("!erinnerung an", BERND, "$e1"), NOW)
    await dispatcher.handle(say("!meine-daten", BERND, "$d1"), NOW)
    room, file_event, _ = outbox.sent[-2]
    assert room == f"!dm-{BERND}" and file_event["info"]["mimetype"] == "application/json"
    assert "privat" in outbox.bodies()[-1]
    exported = json.loads(outbox.uploads[-1])
    assert exported["user_id"] == BERND
    assert exported["registrations"][0]["municipality"] == "Stadt Bielefeld"
    assert exported["settings"]["reminders_by_direct_message"] is True


async def test_deleting_asks_first_then_frees_the_place_and_anonymises(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox)
    await dispatcher.handle(say("!anmelden #1", COORDINATOR, "$r0"), NOW)  # the creator holds the place
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW)  # and Bernd waits
    await dispatcher.handle(say("!daten-löschen", COORDINATOR, "$x0"), NOW)
    assert "daten-löschen ja" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:
        assert (await registrations.registration(s, 1, COORDINATOR)) is not None
    await dispatcher.handle(say("!daten-löschen ja", COORDINATOR, "$x1"), NOW)
    assert "gelöscht" in outbox.bodies()[-1]
    assert any(
        BERND in c.get("m.mentions", {}).get("user_ids", []) and "Platz frei" in c["body"] for _, c, _ in outbox.sent
    )
    async with dispatcher.db.transaction() as s:
        data = await people.person_data(s, COORDINATOR)
        session = await sessions.get_session(s, 1)
        bernd = await registrations.registration(s, 1, BERND)
    assert data.registrations == [] and data.settings is None and data.sessions_created == []
    assert session.created_by == "(gelöscht)" and bernd.status == "registered"


async def test_personal_data_is_purged_after_the_retention_period(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox, days=1)
    await setup_session(dispatcher, outbox, days=60)
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW)
    await dispatcher.handle(say("!anmelden #2", BERND, "$r2"), NOW)
    async with dispatcher.db.transaction() as s:
        assert await people.purge_ended(s, NOW + timedelta(days=30), "(gelöscht)") == 1  # #1 ended, #2 not yet
    async with dispatcher.db.transaction() as s:
        data = await people.person_data(s, BERND)
    assert [session.id for _, session in data.registrations] == [2]
