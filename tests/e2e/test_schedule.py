"""Planned messages against a real homeserver: on time, exactly once across restarts, moved with
their session; registration by ✅ on the announcement; protocol, material and follow-ups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from rules.timing import Kind
from storage.models import OutboxMessage, OutboxStatus, PlannedStatus
from storage.planned import planned_of_session
from storage.rows import save
from tests.e2e.people import body, shared_room
from tests.e2e.sessions import add_session, edits_of, from_bot, planned

pytestmark = pytest.mark.e2e
BERLIN = ZoneInfo("Europe/Berlin")


def berlin_date(days: int) -> str:
    return f"{(datetime.now(BERLIN) + timedelta(days=days)):%d.%m.%Y}"


async def test_announcement_and_reminders_arrive_on_time_in_the_room_and_by_direct_message(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(
        await bot_config(
            coordinators=[anna.user_id], schedule={"announce_before": ["10s"], "remind_before": ["5s"], "grace": "1h"}
        )
    )
    room = await shared_room(anna, bot.user_id, bernd)
    assert "Direktnachricht" in body(await bernd.ask(room, "!erinnerung an"))

    sid = await add_session(bot, room, timedelta(seconds=14), link="https://meet.example.org/starkregen", capacity=20)
    assert "angemeldet" in body(await bernd.ask(room, f"!anmelden #{sid}"))
    start = (await planned(bot, sid, Kind.REMINDER))[0].due_at + timedelta(seconds=5)
    # Ahead of the reminder: bernd's direct room is made and its room key shared with his device.
    assert bot.bot is not None
    await bot.bot.scheduler.prepare_direct_rooms(sid)
    prepared = await bot.bot.matrix.direct_room(bernd.user_id)
    assert bot.bot.client.olm is not None and bot.bot.client.olm.outbound_group_sessions[prepared].shared

    invitation = (await anna.wait_for(from_bot(bot.user_id, room, "Einladung"), timeout=20))[0]
    assert "Starkregenvorsorge" in body(invitation) and "✅" in body(invitation)
    assert invitation["content"]["msgtype"] == "m.text" and invitation["content"]["m.mentions"] == {}

    reminder = (await anna.wait_for(from_bot(bot.user_id, room, "Erinnerung:"), timeout=20))[0]
    due_ms = (start - timedelta(seconds=5)).timestamp() * 1000
    assert 0 <= reminder["origin_server_ts"] - due_ms <= 2000, "reminder not within 2 s of its due time"
    assert "in 5 Minuten" not in body(reminder) and "https://meet.example.org/starkregen" in body(reminder)

    reminded = from_bot(bot.user_id, None, "Erinnerung:")
    direct = (await bernd.wait_for(lambda e: reminded(e) and e["room_id"] != room, timeout=10))[0]
    assert direct["room_id"] == prepared and direct["encrypted"]  # read with the key shared ahead
    assert direct["content"]["msgtype"] == "m.text"
    assert direct["content"]["m.mentions"] == {"user_ids": [bernd.user_id]}
    assert [e for e in anna.events if e["room_id"] != room and from_bot(bot.user_id, None, "Erinnerung:")(e)] == []


async def test_a_reminder_due_while_the_bot_is_down_is_sent_once_after_restart(people, bot_config, run_bot):
    anna = await people("anna")
    config = await bot_config(
        coordinators=[anna.user_id], schedule={"announce_before": [], "remind_before": ["20s"], "grace": "1h"}
    )
    bot = await run_bot(config)
    room = await shared_room(anna, bot.user_id)
    sid = await add_session(bot, room, timedelta(seconds=30))
    await bot.stop()
    await asyncio.sleep(12)  # the reminder falls due while the bot is away

    await bot.start()
    reminders = from_bot(bot.user_id, room, "Erinnerung:")
    first = (await anna.wait_for(reminders, timeout=10))[0]
    await noted_as_sent(bot, sid, first["event_id"])

    # A crash between the homeserver accepting the message and the bot noting it as sent: after
    # the restart the outbox sends it again with the same transaction id from the same device,
    # and the homeserver hands back the event it already has.
    await bot.stop()
    async with bot_db(config) as db, db.transaction() as s:
        row = (await planned_of_session(s, sid, [Kind.REMINDER]))[0]
        assert (row.status, row.sent_event_id) == (PlannedStatus.SENT, first["event_id"])
        message = (await s.exec(select(OutboxMessage).where(OutboxMessage.records == f"planned:{row.id}"))).one()
        assert message.sent_event_id == first["event_id"]
        message.status, message.sent_event_id, row.sent_event_id = OutboxStatus.PENDING, None, None
        await save(s, message)
        await save(s, row)
    await bot.start()
    for _ in range(50):
        row = (await planned(bot, sid, Kind.REMINDER))[0]
        if row.sent_event_id is not None:
            break
        await asyncio.sleep(0.1)
    assert row.sent_event_id == first["event_id"]

    await bot.stop()
    await bot.start()
    await asyncio.sleep(2)
    assert len([e for e in anna.events if reminders(e)]) == 1


def bot_db(config):
    """The bot's database, opened while the bot is stopped."""
    from contextlib import asynccontextmanager

    from storage.db import Database

    @asynccontextmanager
    async def opened():
        db = Database(config.storage_url)
        try:
            yield db
        finally:
            await db.close()

    return opened()


async def test_moving_a_session_moves_its_reminders(people, bot_config, run_bot):
    anna = await people("anna")
    bot = await run_bot(
        await bot_config(
            coordinators=[anna.user_id], schedule={"announce_before": [], "remind_before": ["30s"], "grace": "1h"}
        )
    )
    room = await shared_room(anna, bot.user_id)
    sid = await add_session(bot, room, timedelta(seconds=40))
    tomorrow = datetime.now(BERLIN) + timedelta(days=1)
    moved = await anna.ask(room, f"!termin ändern #{sid} Wann: {tomorrow:%d.%m.%Y %H:%M} Uhr")
    assert "geändert" in body(moved)
    row = (await planned(bot, sid, Kind.REMINDER))[0]
    assert row.status == PlannedStatus.PENDING
    assert row.due_at == tomorrow.replace(second=0, microsecond=0).astimezone(UTC) - timedelta(seconds=30)
    await asyncio.sleep(12)  # past the old due time
    assert not [e for e in anna.events if from_bot(bot.user_id, room, "Erinnerung:")(e)]
    status = body(await anna.ask(room, "!status"))
    assert f"Erinnerung · #{sid}" in status and f"{tomorrow:%d.%m.%Y}" in status

    cancelled = await anna.ask(room, f"!termin absagen #{sid}")
    assert "abgesagt" in body(cancelled)
    assert (await planned(bot, sid, Kind.REMINDER))[0].status == PlannedStatus.SKIPPED


async def test_register_by_reaction_and_after_the_session_protocol_material_followup(people, bot_config, run_bot):
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id], schedule={"announce_before": ["10d"]}))
    room = await shared_room(anna, bot.user_id, bernd, clara)
    created = await anna.ask(room, f"!termin neu Vergaberecht kompakt | {berlin_date(3)} 14 Uhr | Plätze: 2")
    assert "#1 angelegt" in body(created)
    invitation = (await bernd.wait_for(from_bot(bot.user_id, room, "Einladung"), timeout=10))[0]
    assert "2 von 2 Plätzen frei" in body(invitation)

    reaction = await bernd.react(room, invitation["event_id"], "✅")
    await clara.react(room, invitation["event_id"], "👍")  # not a registration
    confirmed = from_bot(bot.user_id, None, "Sie sind angemeldet")
    await bernd.wait_for(lambda e: confirmed(e) and e["room_id"] != room, timeout=10)  # answered privately
    await bernd.wait_for(edits_of(invitation["event_id"], "1 von 2 Plätzen frei"), timeout=10)
    mine = body(await bernd.ask(room, "!meine"))
    assert "Vergaberecht kompakt" in mine and "angemeldet" in mine

    await bernd.redact(room, reaction)
    await bernd.wait_for(from_bot(bot.user_id, None, "abgemeldet"), timeout=10)
    await bernd.wait_for(edits_of(invitation["event_id"], "2 von 2 Plätzen frei"), timeout=10)
    assert "keinen kommenden Termin" in body(await bernd.ask(room, "!meine"))
    assert not [e for e in clara.events if e["room_id"] != room and e["sender"] == bot.user_id]

    assert "angemeldet" in body(await bernd.ask(room, "!anmelden #1"))
    saved = await anna.ask(room, "!protokoll #1 https://example.org/protokoll-vergabe.pdf")
    assert "angemeldete Person (1)" in body(saved)
    posted = (await bernd.wait_for(from_bot(bot.user_id, room, "ist online"), timeout=10))[0]
    assert "https://example.org/protokoll-vergabe.pdf" in body(posted)
    assert posted["content"]["m.mentions"] == {}  # the room post names nobody; each registered person is told privately
    both = await bernd.wait_for(from_bot(bot.user_id, None, "ist online"), count=2, timeout=10)
    personal = next(e for e in both if e["room_id"] != room)
    assert personal["room_id"] != room and personal["content"]["m.mentions"] == {"user_ids": [bernd.user_id]}

    await anna.ask(room, "!material #1 https://example.org/folien.pdf Folien der Referentin")
    material = (await bernd.wait_for(from_bot(bot.user_id, room, "📎"), timeout=10))[0]
    assert "Folien der Referentin" in body(material)
    await anna.ask(room, "!nachbereitung #1 Bitte füllen Sie die Umfrage aus.")
    assert await bernd.wait_for(from_bot(bot.user_id, room, "Bitte füllen Sie die Umfrage aus."), timeout=10)
    later = await anna.ask(room, f"!nachbereitung #1 {berlin_date(5)} 9 Uhr | Die Aufzeichnung ist online.")
    assert "geplant für" in body(later)
    assert "Das hat leider nicht geklappt" not in body(await anna.ask(room, "!nachbereitung #1 gestern 9 Uhr | x"))
    assert "vorbehalten" in body(await bernd.ask(room, "!protokoll #1 https://example.org/x.pdf"))


async def noted_as_sent(bot, sid: int, event_id: str, timeout: float = 10) -> None:
    """Wait until the bot has noted the reminder's event (the room may show it a moment before)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with bot.bot.db.transaction() as s:
            if (await planned_of_session(s, sid, [Kind.REMINDER]))[0].sent_event_id == event_id:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the reminder's event {event_id} was never noted as sent")
