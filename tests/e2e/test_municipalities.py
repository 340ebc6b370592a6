"""Municipalities against a real homeserver: `!kommune` asks back about a typo and then records
the name, registrations from two municipalities carry it, and `!statistik` reaches the
coordinator alone, by direct message (table, chart image, CSV), while staff are refused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from storage import registrations, sessions
from storage.rows import save
from tests.e2e.people import body, replied_to, shared_room
from tests.e2e.sessions import add_session

pytestmark = pytest.mark.e2e


async def test_municipalities_then_statistics_privately_for_the_coordinator(people, bot_config, run_bot):
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, clara)

    question = body(await bernd.ask(room, "!kommune Gütersloch"))
    assert question == "Meinten Sie Gütersloh? Dann schreiben Sie bitte: !kommune Gütersloh"
    assert "Ihre Kommune: Gütersloh (Region Bielefeld)" in body(await bernd.ask(room, "!kommune Gütersloh"))
    assert "Gütersloh" in body(await bernd.ask(room, "!kommune"))

    number = await add_session(bot, room, timedelta(days=2))
    assert "angemeldet" in body(await bernd.ask(room, f"!anmelden #{number}"))
    assert "angemeldet" in body(await clara.ask(room, f"!anmelden #{number} Stadt Spenge"))
    assert bot.bot is not None
    async with bot.bot.db.transaction() as s:
        assert [r.municipality for r in await registrations.active_registrations(s, number)] == ["Gütersloh", "Spenge"]
        held = await sessions.get_session(s, number)  # the session took place an hour ago
        assert held is not None
        held.starts_at = max(datetime.now(UTC) - timedelta(hours=2), datetime(datetime.now(UTC).year, 1, 1, tzinfo=UTC))
        held.ends_at = held.starts_at + timedelta(hours=1)
        await save(s, held)

    assert "Koordination" in body(await clara.ask(room, "!statistik"))

    command = await anna.say(room, "!statistik")
    from_bot_privately = lambda e: e["sender"] == bot.user_id and e["room_id"] != room  # noqa: E731
    table, image, csv_file = await anna.wait_for(
        lambda e: (
            from_bot_privately(e)
            and e.get("type") == "m.room.message"
            and ("Teilnahme" in body(e) or e["content"].get("msgtype") in ("m.image", "m.file"))
        ),
        timeout=30,
        count=3,
    )
    assert {table["room_id"], image["room_id"], csv_file["room_id"]} == {table["room_id"]}
    lines = body(table).split("\n")
    assert lines[0].startswith(f"Teilnahme der Kommunen {datetime.now(UTC).year} – 1 Termin")
    assert "Region Bielefeld: 2 / 1 – 2 von 13 Kommunen haben teilgenommen" in lines
    assert "Gütersloh: 1 / 1" in lines and "Spenge: 1 / 1" in lines
    assert any(line.startswith("Ohne Teilnahme (29): Paderborn, Altenbeken") for line in lines)
    assert image["content"]["msgtype"] == "m.image" and image["content"]["info"]["mimetype"] == "image/png"
    png = await anna.download(image)
    assert png.startswith(b"\x89PNG") and image["content"]["info"]["w"] == 960
    assert csv_file["content"]["info"]["mimetype"] == "text/csv"
    rows = list(csv.reader(io.StringIO((await anna.download(csv_file)).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Region", "Kommune", "Anmeldungen", "Termine"]
    assert ["Bielefeld", "Gütersloh", "1", "1"] in rows and ["Bielefeld", "Spenge", "1", "1"] in rows
    assert ["Paderborn", "Verl", "0", "0"] in rows and ["Bielefeld", "Verl", "0", "0"] in rows
    everything = body(table) + "".join(";".join(r) for r in rows)
    for person in (bernd, clara):
        assert person.user_id not in everything and person.user_id.split(":")[0][1:] not in everything

    shared = [e for e in anna.events if e["room_id"] == room and e["sender"] == bot.user_id]
    assert not [e for e in shared if replied_to(e) == command or "Teilnahme" in body(e)]  # nothing in the room
    assert not [e for e in bernd.events + clara.events if e["content"].get("msgtype") == "m.image"]
