"""Across restarts: history is never answered; commands sent while the bot was down are
answered exactly once, also when more arrived than one sync returns (a limited timeline)."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.people import body, replied_to

pytestmark = pytest.mark.e2e


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
    # 15 commands while the bot is down: more than the 10 events one sync returns per room.
    sent = []
    for _i in range(12):
        sent.append(await bernd.say(room, "!termine"))
    sent.append(await bernd.say(room, "!anmelden #1"))
    sent.append(await anna.say(room, "!anmelden #1"))
    sent.append(await bernd.say(room, "!meine"))

    await bot.start()
    answers = await bernd.wait_for(lambda e: replied_to(e) in sent, count=len(sent), timeout=30)
    by_command = {replied_to(a): a for a in answers}
    assert set(by_command) == set(sent)
    assert "Sie sind angemeldet" in body(by_command[sent[12]])
    assert "Sie sind angemeldet" in body(by_command[sent[13]])
    assert "#1" in body(by_command[sent[14]])

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
