"""Coordinators run the series from the chat: create (both forms), change, cancel, participants, calendar."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest
from icalendar import Calendar
from nio import RoomPreset

from storage.people import direct_room_of
from tests.e2e.people import body, shared_room

pytestmark = pytest.mark.e2e


def mentions(user_id: str):
    return lambda e: user_id in e.get("content", {}).get("m.mentions", {}).get("user_ids", [])


async def test_change_and_cancel_tell_the_people_registered(people, bot_config, run_bot):
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, clara)

    created = await anna.ask(
        room,
        "!termin neu\nTitel: Starkregenvorsorge\nWann: 10.12.2099 14–15 Uhr\n"
        "Input: Gefahrenkarten lesen\nReferent: Stadt Bielefeld\nPlätze: 1\n"
        "Region: Bielefeld\nAnmeldeschluss: 8.12.2099 12 Uhr",
    )
    text = body(created)
    assert "Termin #1 angelegt" in text and "Input: Gefahrenkarten lesen" in text
    assert "Region: Bielefeld" in text and "Anmeldeschluss: Di 08.12.2099, 12:00 Uhr" in text

    assert "Sie sind angemeldet" in body(await bernd.ask(room, "!anmelden #1 Stadt Bielefeld"))
    assert "Warteliste an Platz 1" in body(await clara.ask(room, "!anmelden #1 Kreis Lippe"))

    refused = await bernd.ask(room, "!termin ändern #1 Plätze: 5")
    assert "Koordination" in body(refused)

    moved = await anna.ask(room, "!termin ändern #1 Wann: 11.12.2099 15 Uhr")
    assert "Termin #1 geändert" in body(moved) and "Freitag, 11. Dezember 2099, 15:00–16:00 Uhr" in body(moved)
    told = (await bernd.wait_for(mentions(bernd.user_id)))[0]
    assert "hat sich geändert" in body(told) and "11. Dezember 2099" in body(told)
    assert told["room_id"] != room and told["content"]["m.mentions"] == {"user_ids": [bernd.user_id]}
    assert told["content"]["msgtype"] == "m.text"
    assert "hat sich geändert" in body((await clara.wait_for(mentions(clara.user_id)))[0])

    more = await anna.ask(room, "!termin ändern #1 Plätze: 2")
    assert "2 von 2" not in body(more)
    promoted = await clara.wait_for(lambda e: mentions(clara.user_id)(e) and "Platz frei" in body(e))
    assert promoted

    same = await anna.ask(room, "!termin ändern #1 Plätze: 2")
    assert "nichts geändert" in body(same)
    assert "Felder:" in body(await anna.ask(room, "!termin ändern #1 Farbe: blau"))

    cancelled = await anna.ask(room, "!termin absagen #1 Referentin erkrankt")
    assert "abgesagt" in body(cancelled) and "2 angemeldete" in body(cancelled)
    notice = (await clara.wait_for(lambda e: mentions(clara.user_id)(e) and "fällt leider aus" in body(e)))[0]
    assert "Referentin erkrankt" in body(notice) and notice["room_id"] != room
    assert notice["content"]["m.mentions"] == {"user_ids": [clara.user_id]}
    assert not [
        e
        for e in clara.events
        if e["room_id"] == room and "m.mentions" in e["content"] and e["content"]["m.mentions"].get("user_ids")
    ]  # the shared room names nobody
    assert "abgesagt" in body(await bernd.ask(room, "!anmelden #1"))
    assert "keinen kommenden Termin" in body(await bernd.ask(room, "!meine"))
    assert "vorbehalten" in body(await bernd.ask(room, "!termin absagen #1"))
    assert "abgesagt" in body(await anna.ask(room, "!termin absagen #1"))


async def test_participant_list_goes_privately_and_calendar_files_follow_changes(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd)
    await anna.ask(
        room,
        "!termin neu Fördermittel kompakt | 14.01.2099, 14:00 – 15:30 Uhr | Plätze: 20"
        " | Link: https://meet.example.org/foerder",
    )
    await bernd.ask(room, "!anmelden #1 Stadt Paderborn")
    await anna.ask(room, "!anmelden #1")

    summary = await anna.ask(room, "!teilnehmer #1")
    assert "2 angemeldet" in body(summary) and "1 Kommunen" in body(summary) and "privat" in body(summary)
    assert bernd.user_id not in body(summary)
    assert "Koordination" in body(await bernd.ask(room, "!teilnehmer #1"))
    (csv_event,) = await anna.wait_for(lambda e: e["content"].get("msgtype") == "m.file" and e["room_id"] != room)
    assert csv_event["content"]["info"]["mimetype"] == "text/csv"
    rows = list(csv.reader(io.StringIO((await anna.download(csv_event)).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Name", "Matrix-ID", "Kommune", "Status"]
    assert [r[1] for r in rows[1:]] == [f"'{bernd.user_id}", f"'{anna.user_id}"]
    assert rows[1][2:4] == ["Paderborn", "angemeldet"]  # as the directory names it

    first = await bernd.ask(room, "!kalender #1")
    assert first["content"]["msgtype"] == "m.file" and first["content"]["info"]["mimetype"] == "text/calendar"
    calendar = Calendar.from_ical(await bernd.download(first))
    (event,) = calendar.walk("VEVENT")
    assert str(event["summary"]) == "Fördermittel kompakt" and event["sequence"] == 0
    assert event.decoded("dtend").strftime("%H:%M") == "15:30"

    await anna.ask(room, "!termin ändern #1 Link: https://meet.example.org/neu")
    await anna.ask(room, "!termin absagen #1")
    last = await bernd.ask(room, "!kalender #1")
    cancelled = Calendar.from_ical(await bernd.download(last))
    (event2,) = cancelled.walk("VEVENT")
    assert str(cancelled["method"]) == "CANCEL" and event2["sequence"] == 2
    assert str(event2["uid"]) == str(event["uid"])


async def test_room_power_levels_make_coordinators_in_official_rooms(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    unlisted = await bot_config()  # nobody listed: roles come from the room alone
    room = await anna.create_room(invite=[unlisted.matrix.user_id, bernd.user_id])  # anna: power level 100
    await bernd.join(room)
    bot = await run_bot(replace(unlisted, official_rooms={room: "Bielefeld"}))  # an official room by config
    await anna.wait_for(lambda e: e["sender"] == bot.user_id and e["room_id"] == room)
    assert "Termin #1 angelegt" in body(await anna.ask(room, "!termin neu Vergaberecht | morgen 10 Uhr"))
    assert "!termin absagen" in body(await anna.ask(room, "!hilfe"))
    assert "!termin absagen" not in body(await bernd.ask(room, "!hilfe"))
    assert "vorbehalten" in body(await bernd.ask(room, "!termin neu X | morgen 10 Uhr"))
    # After a restart the bot learns the rooms' state again.
    await bot.stop()
    await bot.start()
    assert "Termin #2 angelegt" in body(await anna.ask(room, "!termin neu Mobiles Arbeiten | morgen 11 Uhr"))


async def test_a_room_someone_else_made_is_never_taken_for_a_direct_chat(people, bot_config, run_bot):
    """A staff member makes a public room, invites the bot and a coordinator and leaves: the
    coordinator's participant list still reaches only a room the bot made itself."""
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd)
    await anna.ask(room, "!termin neu Vergaberecht | 14.01.2099 14 Uhr | Plätze: 5")
    await bernd.ask(room, "!anmelden #1")

    response = await bernd.client.room_create(invite=[bot.user_id, anna.user_id], preset=RoomPreset.public_chat)
    trap = str(response.room_id)
    await bernd.wait_for(lambda e: e["sender"] == bot.user_id and e["room_id"] == trap)  # the bot joined
    await anna.join(trap)
    await bernd.client.room_leave(trap)  # only the bot and the coordinator are left in it
    await anna.wait_for(
        lambda e: (
            e["room_id"] == trap and e.get("state_key") == bernd.user_id and e["content"].get("membership") == "leave"
        )
    )

    await anna.ask(room, "!teilnehmer #1")
    (csv_event,) = await anna.wait_for(lambda e: e["content"].get("msgtype") == "m.file" and e["room_id"] != room)
    direct = csv_event["room_id"]
    assert direct != trap
    created = await anna.client.room_get_state_event(direct, "m.room.create")
    assert created.content.get("creator", bot.user_id) == bot.user_id  # (room versions before 11 name it)
    assert bot.bot is not None
    async with bot.bot.db.transaction() as s:
        assert await direct_room_of(s, anna.user_id) == direct  # the room the bot made and recorded
    assert not [e for e in anna.events if e["room_id"] == trap and e["content"].get("msgtype") == "m.file"]


async def test_a_staff_members_own_room_direct_chat_or_v12_room_gives_no_role(people, bot_config, run_bot):
    """Power in a room of one's own is no role: the phishing session of the trust issue is refused
    there and never listed in the academy room."""
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    academy = await shared_room(anna, bot.user_id, bernd, clara)
    assert "angelegt" in body(await anna.ask(academy, "!termin neu Vergaberecht | 10.12.2099 14 Uhr"))
    await clara.ask(academy, "!anmelden #1 Stadt Verl")
    own = await bernd.create_room(invite=[bot.user_id])  # bernd holds power level 100 here
    element_dm = await bernd.client.room_create(  # as Element opens a direct chat: both hold 100
        invite=[bot.user_id], is_direct=True, preset=RoomPreset.trusted_private_chat
    )
    v12 = await bernd.client.room_create(invite=[bot.user_id], room_version="12")  # the creator outranks all
    phishing = "!termin neu Gefälschte Schulung | 11.12.2099 10:00 | Link: https://evil.example/login"
    for room in (own, str(element_dm.room_id), str(v12.room_id)):
        await bernd.wait_for(lambda e, room=room: e["sender"] == bot.user_id and e["room_id"] == room)
        assert "vorbehalten" in body(await bernd.ask(room, phishing))
        assert "vorbehalten" in body(await bernd.ask(room, "!teilnehmer #1"))
    listing = body(await clara.ask(academy, "!termine"))
    assert "Vergaberecht" in listing and "Gefälschte" not in listing


async def test_raum_naming_another_regions_room_needs_the_coordinator_role_there(people, bot_config, run_bot):
    """Paderborn's coordinator (power in the Paderborn room only) can announce nothing in the
    Bielefeld room: neither by `Raum:` from his own room nor by planning his region's wish from
    the Bielefeld room with `Raum:` naming it. A coordinator from the config still may."""
    anna, paul = await people("anna"), await people("paul")
    unstarted = await bot_config(coordinators=[anna.user_id])
    bielefeld = await anna.create_room(invite=[unstarted.matrix.user_id, paul.user_id])
    paderborn = await paul.create_room(invite=[unstarted.matrix.user_id, anna.user_id])
    await paul.join(bielefeld)
    await anna.join(paderborn)
    bot = await run_bot(replace(unstarted, official_rooms={bielefeld: "Bielefeld", paderborn: "Paderborn"}))
    for room in (bielefeld, paderborn):
        await paul.wait_for(lambda e, room=room: e["sender"] == bot.user_id and e["room_id"] == room)

    assert "T1" in body(await paul.ask(paderborn, "!thema Starkregen | Gefahrenkarten lesen"))
    plan = f"!thema T1 planen | 10.12.2099 14 Uhr | Raum: {bielefeld}"
    refusal = "in dem Raum, den Sie genannt haben"
    assert refusal in body(await paul.ask(bielefeld, plan))
    assert refusal in body(await paul.ask(paderborn, plan))
    assert refusal in body(
        await paul.ask(paderborn, f"!termin neu Vergaberecht | 11.12.2099 10 Uhr | Raum: {bielefeld}")
    )
    assert "Termin #1 angelegt" in body(await paul.ask(paderborn, "!termin neu Vergaberecht | 11.12.2099 10 Uhr"))

    assert "Termin #2 angelegt" in body(await anna.ask(bielefeld, plan))
    listing = body(await anna.ask(bielefeld, "!termine"))
    assert "Starkregen" in listing and "Vergaberecht" not in listing  # #1 is Paderborn's alone
