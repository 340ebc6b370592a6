"""Encrypted rooms and direct chats: the bot reads commands and answers encrypted, sends files as
encrypted attachments, keeps its device across restarts (and no room key of its own), shares keys
with members who join later (ahead, before anything is sent to them), and answers a message it
cannot decrypt with a hint instead of silence."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.e2e.people import body, replied_to

pytestmark = pytest.mark.e2e


def from_bot(bot_id: str, room: str):
    return lambda e: e["sender"] == bot_id and e["room_id"] == room and e.get("type") == "m.room.message"


async def test_encrypted_rooms_and_direct_chats(people, bot_config, run_bot, synapse):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await anna.create_room(invite=[bot.user_id, bernd.user_id], encrypted=True)
    await bernd.join(room)
    welcome = (await anna.wait_for(from_bot(bot.user_id, room)))[0]
    assert welcome["encrypted"] and "regiobot" in body(welcome)
    assert "offizieller Raum" in body(await anna.ask(room, "!raum freischalten beide"))

    created = await anna.ask(room, "!termin neu Vergaberecht | 10.12.2099 14 Uhr | Plätze: 5")
    assert created["encrypted"] and "angelegt" in body(created)
    registered = await bernd.ask(room, "!anmelden #1 Stadt Bielefeld")
    assert registered["encrypted"] and "angemeldet" in body(registered)

    # The participant list goes to a new (encrypted) direct chat, as an encrypted attachment.
    await anna.ask(room, "!teilnehmer #1")
    csv_event = (await anna.wait_for(lambda e: e["content"].get("msgtype") == "m.file" and e["room_id"] != room))[0]
    assert csv_event["encrypted"] and "file" in csv_event["content"] and "url" not in csv_event["content"]
    assert ";Bielefeld;angemeldet;" in (await anna.download(csv_event)).decode("utf-8-sig")  # as the directory names it

    # A direct chat the person opens, encrypted as Element does it.
    direct = await bernd.create_room(invite=[bot.user_id], name=None, encrypted=True, direct=True)
    await bernd.wait_for(from_bot(bot.user_id, direct))
    mine = await bernd.ask(direct, "!meine")
    assert mine["encrypted"] and "Vergaberecht" in body(mine)

    # The bot keeps its device and keys across a restart.
    device = bot.bot.client.device_id
    key = bot.bot.client.olm.account.identity_keys["ed25519"]
    await bot.stop()
    await bot.start()
    assert bot.bot.client.device_id == device
    assert bot.bot.client.olm.account.identity_keys["ed25519"] == key
    again = await bernd.ask(room, "!meine")
    assert again["encrypted"] and "Vergaberecht" in body(again)
    # It keeps the members' room keys to read them, none of its own (it never reads its own).
    own = bot.bot.client.olm.account.identity_keys["curve25519"]
    senders = {s.sender_key for s in bot.bot.client.olm.inbound_group_store}
    assert senders and own not in senders
    assert own not in {s.sender_key for s in bot.bot.client.store.load_inbound_group_sessions()}

    # Someone who joins later can read the answers to their commands.
    clara = await people("clara")
    invited = await anna.client.room_invite(room, clara.user_id)
    assert not hasattr(invited, "status_code"), invited
    await clara.join(room)
    listed = await clara.ask(room, "!termine")
    assert listed["encrypted"] and "Vergaberecht" in body(listed)

    # A message the bot cannot decrypt gets a hint, not silence.
    txn = uuid.uuid4().hex
    garbled = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": "AAAA",
        "device_id": "NOSUCHDEVICE",
        "session_id": "no-such-session",
        "ciphertext": "AwgAEpAB",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.put(
            f"{synapse.url}/_matrix/client/v3/rooms/{room}/send/m.room.encrypted/{txn}",
            json=garbled,
            headers={"Authorization": f"Bearer {bernd.client.access_token}"},
        ) as resp,
    ):
        assert resp.status == 200
        event_id = (await resp.json())["event_id"]
    hint = (await bernd.wait_for(lambda e: replied_to(e) == event_id))[0]
    assert "nicht entschlüsseln" in body(hint)


async def test_room_key_shared_ahead_with_a_new_member(people, bot_config, run_bot):
    """Someone joins: the bot shares its room key with their device in the background, before any
    command; its next message uses that key, and they can read it."""
    anna, dora = await people("anna"), await people("dora")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await anna.create_room(invite=[bot.user_id], encrypted=True)
    await anna.wait_for(from_bot(bot.user_id, room))  # the welcome went out with a room key
    invited = await anna.client.room_invite(room, dora.user_id)
    assert not hasattr(invited, "status_code"), invited
    key = await dora.room_key(room, bot.user_id)  # dora's client joins the room it is invited to
    assert bot.bot.client.olm.outbound_group_sessions[room].id == key.session_id

    answer = await anna.ask(room, "!termine")
    seen = (await dora.wait_for(lambda e: e.get("event_id") == answer["event_id"]))[0]
    assert seen["encrypted"] and body(seen) == body(answer)
