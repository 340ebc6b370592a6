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


async def test_a_direct_chat_let_go_when_idle_is_read_again_when_used(people, bot_config, run_bot):
    """What the bot holds of its direct chats goes once it is idle after some work (a fan-out to
    thousands would stay in memory otherwise), except a chat prepared for a message not yet sent;
    the next use reads the chat again: the same chat, encrypted and readable, with whoever is in it
    now."""
    anna, bernd, clara = [await people(name) for name in ("anna", "bernd", "clara")]
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    assert bot.bot is not None
    matrix, rooms = bot.bot.matrix, bot.bot.client.rooms
    room = await shared_room(anna, bot.user_id, bernd)
    await anna.ask(room, "!termin neu Vergaberecht | 14.01.2099 14 Uhr | Plätze: 5")
    await bernd.ask(room, "!anmelden #1")
    await matrix.prepare_direct_rooms([anna.user_id, bernd.user_id])  # as ahead of a reminder
    direct, bernds = await matrix.direct_room(anna.user_id), await matrix.direct_room(bernd.user_id)
    assert not matrix._direct_locks  # a person's lock goes with the last lookup
    await anna.knows(direct)

    await anna.ask(room, "!teilnehmer #1")  # the participant list goes to anna's direct chat
    first = (await anna.wait_for(csv_outside(room)))[0]
    await until(lambda: direct not in rooms)  # let go once idle: a message went there
    assert bernds in rooms  # prepared for a message that has not gone out yet

    await anna.ask(room, "!teilnehmer #1")
    again = (await anna.wait_for(csv_outside(room), count=2))[-1]
    assert again["room_id"] == first["room_id"] == direct and again["encrypted"]
    assert ";angemeldet;" in (await anna.download(again)).decode("utf-8-sig")
    await until(lambda: direct not in rooms)
    invited = await anna.client.room_invite(direct, clara.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    await clara.knows(direct)
    refused = await anna.ask(direct, "!frage anonym #1 Was hat es gekostet?")
    assert "Direktnachricht" in body(refused)  # it knows clara is in anna's chat now


async def test_a_direct_chat_in_use_is_not_let_go(people, bot_config, run_bot):
    anna = await people("anna")
    bot = await run_bot(await bot_config())
    assert bot.bot is not None
    matrix = bot.bot.matrix
    direct = await matrix.direct_room(anna.user_id)
    await until(lambda: not matrix.keys.busy_with(direct))  # its room key, shared once it is quiet
    assert await matrix.let_go_of_direct_chats(keep=[direct]) == 0  # the rooms of the batch in hand
    with matrix._using(direct):  # a send or an upload under way there
        assert await matrix.let_go_of_direct_chats() == 0
    assert await matrix.let_go_of_direct_chats() == 1
    assert direct not in bot.bot.client.rooms
    assert await matrix.direct_room(anna.user_id) == direct  # read again: still the same chat
    assert direct in bot.bot.client.rooms
