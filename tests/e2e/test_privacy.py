"""`!daten-löschen` against a real homeserver: the person's board card, and the edits that showed
its text, leave the board room's history (redacted by the bot, the reason in their place)."""

from __future__ import annotations

import pytest

from tests.e2e.people import Event, body, shared_room
from tests.e2e.sessions import edits_of, from_bot

pytestmark = pytest.mark.e2e


def redaction_of(event_id: str):
    def match(e: Event) -> bool:
        redacts = e.get("redacts") or e.get("content", {}).get("redacts")
        return e.get("type") == "m.room.redaction" and redacts == event_id

    return match


async def test_deleting_ones_data_takes_ones_board_card_out_of_the_rooms_history(people, bot_config, run_bot):
    anna, bernd = [await people(name) for name in ("anna", "bernd")]
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd)
    assert "Brett" in body(await anna.ask(room, "!raum brett"))
    assert "Verl" in body(await bernd.ask(room, "!kommune verl"))
    assert "A1" in body(await bernd.ask(room, "!biete Personal: Bauhof-Pool | Drei Leute für den Winterdienst"))
    card = (await anna.wait_for(from_bot(bot.user_id, room, "🤝")))[0]
    assert "erledigt" in body(await bernd.ask(room, "!eintrag A1 erledigt"))
    done = (await anna.wait_for(edits_of(card["event_id"], "erledigt")))[0]

    assert "gelöscht" in body(await bernd.ask(room, "!daten-löschen ja"))
    for shown in (card, done):
        redaction = (await anna.wait_for(redaction_of(shown["event_id"])))[0]
        assert redaction["sender"] == bot.user_id and redaction["content"]["reason"].startswith("A1: Dieser Eintrag")
        response = await anna.client.room_get_event(room, shown["event_id"])
        assert "Bauhof" not in str(response.event.source) and "Winterdienst" not in str(response.event.source)
