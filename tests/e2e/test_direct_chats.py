"""The bot's own direct chats across a restart: their state is not read at the start (thousands of
them would hold the start up) but when the bot uses one; it then still finds and uses the same
chat, encrypted and readable, and knows who is in it before it answers there."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from nio import RoomInviteResponse

from tests.e2e.people import Person, body, shared_room

pytestmark = pytest.mark.e2e


def csv_outside(room_id: str):
    return lambda e: e["content"].get("msgtype") == "m.file" and e["room_id"] != room_id


async def test_after_a_restart_a_direct_message_reaches_the_same_chat_and_decrypts(
    people, bot_config, run_bot, synapse
):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd)
    await anna.ask(room, "!termin neu Vergaberecht | 14.01.2099 14 Uhr | Plätze: 5")
    await bernd.ask(room, "!anmelden #1")
    await anna.ask(room, "!teilnehmer #1")  # the participant list goes to anna's direct chat
    direct = (await anna.wait_for(csv_outside(room)))[0]["room_id"]

    await bot.stop()
    phone = await Person(synapse, anna.user_id[1:].split(":")[0], anna.password).start()  # a new device
    try:
        await until(lambda: phone.client.olm is not None and phone.client.olm.account.shared)
        await bot.start()
        assert bot.bot is not None
        assert direct not in bot.bot.client.rooms  # not read at the start …
        assert bot.bot.matrix.power_level(room, anna.user_id) >= 100  # … the other rooms are (she made it)

        await bot.bot.matrix.prepare_direct_rooms([anna.user_id])  # as ahead of a reminder
        assert bot.bot.client.olm is not None
        shared = bot.bot.client.olm.outbound_group_sessions[direct].users_shared_with
        assert (anna.user_id, phone.client.device_id) in shared  # the device new since the restart too
        await anna.ask(room, "!teilnehmer #1")
        for device in (anna, phone):
            second = (await device.wait_for(csv_outside(room), count=2 if device is anna else 1))[-1]
            assert second["room_id"] == direct and second["encrypted"]  # the same chat
            assert ";angemeldet;" in (await device.download(second)).decode("utf-8-sig")
        assert await bot.bot.matrix.direct_room(anna.user_id) == direct
    finally:
        await phone.close()


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_after_a_restart_the_bot_knows_who_is_in_a_direct_chat_before_it_answers(people, bot_config, run_bot):
    anna, bernd, clara, dora = [await people(name) for name in ("anna", "bernd", "clara", "dora")]
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, dora)
    await anna.ask(room, "!termin neu Vergaberecht | 14.01.2099 14 Uhr")
    assert bot.bot is not None
    shared = await bot.bot.matrix.direct_room(bernd.user_id)  # bernd lets clara in later
    alone = await bot.bot.matrix.direct_room(dora.user_id)
    await bernd.knows(shared)
    await dora.knows(alone)
    invited = await bernd.client.room_invite(shared, clara.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    await clara.knows(shared)

    await bot.stop()
    await bot.start()
    refused = await bernd.ask(shared, "!frage anonym #1 Was hat es gekostet?")
    assert "Direktnachricht" in body(refused) and refused["encrypted"]
    asked = await dora.ask(alone, "!frage anonym #1 Was hat es gekostet?")
    assert "Nr. 1" in body(asked) and asked["encrypted"]
