"""The cooperation board against a real homeserver: an offer and a matching need from two
municipalities, both authors told by direct message (never in the room), a search that
understands compounds, `!kontakt` opening a room with both, and the entry marked done (its card
in the board room edited). A flood of long needs on a full board holds nobody else up; a
coordinator of the board room takes an entry down (its card redacted, its author told)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from bench.seed import board_entries, board_text
from rules.board import MAX_DESCRIPTION, MAX_OPEN_ENTRIES
from storage.db import Database
from tests.e2e.people import Event, Person, body, replied_to, room_history, shared_room
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


async def answers_in_history(person: Person, room_id: str, commands: list[str], timeout: float) -> dict[str, Event]:
    """The bot's answer to each command, as the room's history keeps them (however many arrived
    in one sync), waiting up to `timeout` seconds for all of them; the commands themselves too."""
    deadline = time.monotonic() + timeout
    while True:
        history = await room_history(person, room_id)
        answers = {f"answer:{replied_to(e)}": e for e in history if replied_to(e) in commands}
        if len(answers) == len(commands):
            return {**answers, **{e["event_id"]: e for e in history if e["event_id"] in commands}}
        assert time.monotonic() < deadline, f"{len(answers)} of {len(commands)} commands answered"
        await asyncio.sleep(1)


async def test_a_flood_of_long_needs_on_a_full_board_holds_nobody_up(people, bot_config, run_bot):
    anna, eva = await people("anna"), await people("eva")
    flooders = [await people(name) for name in ("bernd", "clara", "dora")]
    config = await bot_config(coordinators=[anna.user_id])
    db = Database(config.storage_url)
    try:
        await db.migrate()
        await board_entries(db, 2_000, length=2_000, authors=[anna.user_id])  # longer than a card shows today
    finally:
        await db.close()
    bot = await run_bot(config)
    room = await shared_room(anna, bot.user_id, eva, *flooders)
    for person in flooders:
        assert "Verl" in body(await person.ask(room, "!kommune Verl"))

    pick = random.Random(5)  # long needs in the words of the entries on the board: all alike
    flood = [
        await person.say(room, f"!suche Fördermittel: {board_text(pick, 150)} | {board_text(pick, MAX_DESCRIPTION)}")
        for _ in range(MAX_OPEN_ENTRIES)
        for person in flooders
    ]
    question = await eva.say(room, "!termine")
    one_too_many = await flooders[0].say(room, "!suche Fördermittel: Noch eines | Das elfte Gesuch")
    found = await answers_in_history(anna, room, [*flood, question, one_too_many], timeout=180)

    assert all("Gesuch ist eingestellt" in body(found[f"answer:{e}"]) for e in flood)
    assert f"{MAX_OPEN_ENTRIES} offene Einträge" in body(found[f"answer:{one_too_many}"])
    answered_at = found[f"answer:{question}"]["origin_server_ts"]
    last_of_flood = max(found[f"answer:{e}"]["origin_server_ts"] for e in flood)
    waited = answered_at - found[question]["origin_server_ts"]
    assert answered_at <= last_of_flood or waited <= 10_000, f"!termine waited {waited} ms behind the flood"


async def test_a_coordinator_of_the_board_room_takes_an_entry_down(people, bot_config, run_bot):
    anna, bernd, clara = [await people(name) for name in ("anna", "bernd", "clara")]
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, clara)
    assert "Brett" in body(await anna.ask(room, "!raum brett"))
    assert "Gütersloh" in body(await bernd.ask(room, "!kommune Gütersloh"))
    assert "Verl" in body(await clara.ask(room, "!kommune Verl"))
    assert "A1" in body(await bernd.ask(room, "!biete Personal: Bauhof-Pool | Privat günstig abzugeben"))
    card = (await clara.wait_for(from_bot(bot.user_id, room, "🤝")))[0]
    assert "eröffnet" in body(await clara.ask(room, "!kontakt A1"))
    assert "schon Kontakt" in body(await clara.ask(room, "!kontakt A1"))  # once per entry and person

    assert "Koordination des Brett-Raums" in body(await clara.ask(room, "!eintrag A1 sperren Spam"))
    assert "ist gesperrt" in body(await anna.ask(room, "!eintrag A1 sperren Werbung für Privates"))

    def takes_the_card_back(event: Event) -> bool:
        redacts = event.get("redacts") or event.get("content", {}).get("redacts")
        return event.get("type") == "m.room.redaction" and redacts == card["event_id"]

    redaction = (await clara.wait_for(takes_the_card_back))[0]
    assert redaction["sender"] == bot.user_id
    told = (await bernd.wait_for(lambda e: e["room_id"] != room and "gesperrt" in body(e)))[0]
    assert "Werbung für Privates" in body(told)
    assert "noch keine offenen Einträge" in body(await clara.ask(room, "!markt"))
    assert "gesperrt" in body(await bernd.ask(room, "!eintrag A1 verlängern"))
