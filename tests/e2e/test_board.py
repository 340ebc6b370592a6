"""The cooperation board against a real homeserver: an offer and a matching need from two
municipalities, both authors told by direct message (never in the room), a search that
understands compounds, `!kontakt` opening a room with both, and the entry marked done (its card
in the board room edited)."""

from __future__ import annotations

import pytest

from tests.e2e.people import body, shared_room
from tests.e2e.sessions import edits_of, from_bot

pytestmark = pytest.mark.e2e


async def test_offer_and_need_meet(people, bot_config, run_bot):
    anna, bernd, clara = [await people(name) for name in ("anna", "bernd", "clara")]
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, clara)
    assert "Brett" in body(await anna.ask(room, "!raum brett"))
    assert "!kommune" in body(await bernd.ask(room, "!biete Vergabe: Zentrale Vergabestelle"))
    assert "Gütersloh" in body(await bernd.ask(room, "!kommune Stadt Gütersloh"))
    assert "Verl" in body(await clara.ask(room, "!kommune verl"))

    offered = body(
        await bernd.ask(room, "!biete Vergabe: Vergabeverfahren für Nachbarkommunen | Wir übernehmen Ausschreibungen")
    )
    assert "A1" in offered and "Vergabe und Beschaffung" in offered
    card = (await clara.wait_for(from_bot(bot.user_id, room, "🤝")))[0]
    assert "Gütersloh" in body(card) and "offen" in body(card) and bernd.user_id not in str(card["content"])

    needed = body(await clara.ask(room, "!suche beschaffung: Vergabestelle gesucht | Wer schreibt für uns aus?"))
    assert "A2" in needed and "passenden Eintrag" in needed
    told_bernd = (await bernd.wait_for(lambda e: e["room_id"] != room and "Passend zu Ihrem Eintrag" in body(e)))[0]
    told_clara = (await clara.wait_for(lambda e: e["room_id"] != room and "Passend zu Ihrem Eintrag" in body(e)))[0]
    assert "A1" in body(told_bernd) and "A2" in body(told_bernd) and "Verl" in body(told_bernd)
    assert "A2" in body(told_clara) and "A1" in body(told_clara) and "Gütersloh" in body(told_clara)
    assert not [e for e in anna.events if "Passend zu" in body(e)]  # the coordinator in the room saw none

    found = body(await anna.ask(room, "!markt Vergabestellen"))
    assert "A1 ·" in found and "A2 ·" in found

    assert "eröffnet" in body(await clara.ask(room, "!kontakt A1"))
    intro = (await bernd.wait_for(lambda e: "interessiert sich" in body(e)))[0]
    contact_room = intro["room_id"]
    assert contact_room not in (room, told_bernd["room_id"])
    assert set(intro["content"]["m.mentions"]["user_ids"]) == {bernd.user_id, clara.user_id}
    await clara.wait_for(lambda e: e["room_id"] == contact_room and "interessiert sich" in body(e))
    # A crash after the homeserver made the room, before the bot noted it: the retry finds that room.
    assert bot.bot is not None
    matrix, pair = bot.bot.matrix, sorted([bernd.user_id, clara.user_id])
    assert await matrix.group_room(pair, "Kontakt A1", "contact:1") == contact_room
    assert await matrix.group_room(pair, "Kontakt A1", "contact:2") != contact_room  # another contact
    talking = (await anna.wait_for(edits_of(card["event_id"], "im Gespräch")))[0]
    assert "!kontakt A1" in talking["content"]["m.new_content"]["body"]

    assert "eingestellt hat" in body(await clara.ask(contact_room, "!eintrag A1 erledigt"))
    assert "erledigt" in body(await bernd.ask(contact_room, "!eintrag A1 erledigt"))
    done = (await anna.wait_for(edits_of(card["event_id"], "erledigt")))[0]
    assert "!kontakt" not in done["content"]["m.new_content"]["body"]
    assert "A1 ·" not in body(await anna.ask(room, "!markt Vergabe"))
