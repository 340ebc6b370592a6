"""Across restarts: history is never answered; commands sent while the bot was down are
answered exactly once, also when more arrived than one sync returns (a limited timeline, completed
with /messages); a burst that one sync does hold is read without /messages."""

from __future__ import annotations

import asyncio

import pytest
from nio import Event as NioEvent

from bot.matrix import SYNC_TIMELINE_LIMIT
from tests.e2e.faults import FaultProxy
from tests.e2e.people import Person, body, replied_to, shared_room
from tests.e2e.sessions import edits_of, from_bot

pytestmark = pytest.mark.e2e


async def chatter(person: Person, room: str, count: int) -> None:
    """`count` ordinary messages (no commands) into `room`, a few dozen at a time."""
    for first in range(0, count, 50):
        await asyncio.gather(*(person.say(room, f"Guten Morgen ({i})") for i in range(first, min(first + 50, count))))


async def test_history_is_not_answered_and_downtime_commands_are_answered_once(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    config = await bot_config(coordinators=[anna.user_id])
    room = await anna.create_room(invite=[config.matrix.user_id, bernd.user_id])
    await bernd.join(room)
    history = await bernd.say(room, "!termine")  # before the bot's very first sync

    bot = await run_bot(config)
    await anna.wait_for(lambda e: e["sender"] == bot.user_id and e["room_id"] == room)
    await anna.ask(room, "!raum freischalten beide")
    await anna.ask(room, "!termin neu Vergaberecht kompakt | morgen 14 Uhr | Plätze: 3")

    await bot.stop()
    # 15 commands while the bot is down, then more messages than one sync brings per room: the
    # commands are only found by completing the cut timeline with /messages.
    sent = []
    for _i in range(12):
        sent.append(await bernd.say(room, "!termine"))
    sent.append(await bernd.say(room, "!anmelden #1"))
    sent.append(await anna.say(room, "!anmelden #1"))
    sent.append(await bernd.say(room, "!meine"))
    await chatter(anna, room, SYNC_TIMELINE_LIMIT)

    await bot.start()
    answers = await bernd.wait_for(lambda e: replied_to(e) in sent, count=len(sent), timeout=30)
    by_command = {replied_to(a): a for a in answers}
    assert set(by_command) == set(sent)
    assert "Sie sind angemeldet" in body(by_command[sent[12]])
    assert "Sie sind angemeldet" in body(by_command[sent[13]])
    assert "#1" in body(by_command[sent[14]])
    assert bot.bot is not None
    metrics = bot.bot.metrics.registry
    assert metrics.get_sample_value("regiobot_gap_fills_total") == 1
    assert metrics.get_sample_value("regiobot_gap_fill_events_total") >= len(sent)

    # Another restart must not answer anything again.
    await bot.stop()
    await bot.start()
    await bernd.ask(room, "!hilfe")
    await asyncio.sleep(1)
    for command in sent:
        assert len(bernd.answers_to(command)) == 1, command
    assert bernd.answers_to(history) == []
    # Answers came in the order the commands were sent.
    order = [replied_to(e) for e in bernd.events if replied_to(e) in sent]
    assert order == sent


async def test_a_burst_of_commands_in_one_sync_is_read_without_messages_requests(synapse, people, bot_config, run_bot):
    proxy = await FaultProxy(synapse.url).start()  # passes everything on, noting each request
    try:
        anna = await people("anna")
        staff = [await people(name) for name in ("bernd", "clara", "dora")]
        bot = await run_bot(await bot_config(coordinators=[anna.user_id], matrix={"homeserver": proxy.url}))
        room = await shared_room(anna, bot.user_id, *staff)
        await anna.ask(room, "!termin neu Starkregen | morgen 10 Uhr | Plätze: 5")
        assert bot.bot is not None  # joining the room cost no /messages either (its timeline is whole)
        assert bot.bot.metrics.registry.get_sample_value("regiobot_gap_fills_total") == 0

        await bot.stop()  # the burst waits for the bot's next sync: it all comes in that one
        sent = [
            await person.say(room, text)
            for text in ("!anmelden #1", *["!termine", "!meine", "!hilfe"] * 3)
            for person in staff
        ]
        await bot.start()
        bernd = staff[0]
        answers = await bernd.wait_for(lambda e: replied_to(e) in sent, count=len(sent), timeout=30)

        assert {replied_to(a) for a in answers} == set(sent)
        assert all("Sie sind angemeldet" in body(bernd.answers_to(command)[0]) for command in sent[:3])
        assert any(path.endswith("/sync") for path in proxy.paths)
        assert [path for path in proxy.paths if path.endswith("/messages")] == []
        assert bot.bot is not None
        assert bot.bot.metrics.registry.get_sample_value("regiobot_gap_fills_total") == 0
        await asyncio.sleep(1)  # time for any duplicate to show up
        for command in sent:
            assert len(bernd.answers_to(command)) == 1, command
        await bot.stop()  # its long-poll ends, so the proxy need not wait for it
    finally:
        await proxy.stop()


async def test_the_bot_is_not_sent_back_what_it_sent(people, bot_config, run_bot):
    """The bot's own messages are taken out of its syncs (its answers to a burst would come back as
    many again); what the others write still arrives, its own edits keep the announcement right,
    and a state change it made itself still reaches its view of the room."""
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    assert bot.bot is not None
    room = await shared_room(anna, bot.user_id, bernd)
    seen: list[NioEvent] = []  # the messages (not state) the bot's nio is given

    def note(_room: object, event: NioEvent) -> None:
        if "state_key" not in event.source:
            seen.append(event)

    bot.bot.client.add_event_callback(note, NioEvent)
    await anna.ask(room, "!termin neu Starkregen | morgen 10 Uhr | Plätze: 1")
    announcement = (await bernd.wait_for(from_bot(bot.user_id, room, "Einladung zur Regiopol")))[0]["event_id"]
    assert "angemeldet" in body(await bernd.ask(room, "!anmelden #1"))
    await bernd.wait_for(edits_of(announcement, "ausgebucht"))
    assert "Warteliste" in body(await anna.ask(room, "!anmelden #1"))
    await asyncio.sleep(1)  # time for the bot's next sync
    senders = {event.sender for event in seen}
    assert {anna.user_id, bernd.user_id} <= senders and bot.user_id not in senders

    member = {"membership": "join", "displayname": "Regiopol-Bot"}
    await bot.bot.matrix.put_state(room, "m.room.member", member, bot.user_id)
    known = bot.bot.client.rooms[room]
    async with asyncio.timeout(10):
        while known.user_name(bot.user_id) != "Regiopol-Bot":
            await asyncio.sleep(0.1)
    assert bot.user_id not in {event.sender for event in seen}


async def test_invites_only_from_allowed_servers(people, bot_config, run_bot):
    anna = await people("anna")
    config = await bot_config(matrix={"allowed_servers": ["example.org"]})
    bot = await run_bot(config)
    room = await anna.create_room(invite=[bot.user_id])
    left = await anna.wait_for(
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == bot.user_id
            and e["room_id"] == room
            and e["content"].get("membership") == "leave"
        )
    )
    assert left
