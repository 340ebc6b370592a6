"""Staff register for sessions in a real room: create → register → waitlist → cancel → promotion,
with the bot's database on SQLite and on PostgreSQL."""

from __future__ import annotations

import html

import pytest

from tests.e2e.people import body, replied_to, shared_room
from tests.postgres import on_both_databases

pytestmark = [pytest.mark.e2e, on_both_databases]


def assert_answer_shape(answer: dict, command_id: str) -> None:
    content = answer["content"]
    assert content["msgtype"] == "m.notice"
    assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == command_id
    assert content["format"] == "org.matrix.custom.html"
    assert content["formatted_body"]
    assert "m.mentions" not in content  # a notice, mentioning nobody (rules/rendering/content.py)


async def test_create_register_waitlist_cancel_promote(people, bot_config, run_bot):
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, clara)

    command = await anna.say(
        room,
        "!termin neu Kommunale Wärmeplanung | Do 10.12.2099 14–15 Uhr | Plätze: 1"
        " | Link: https://meet.example.org/waerme",
    )
    created = await anna.answer(room, command)
    assert_answer_shape(created, command)
    assert "#1" in body(created)
    assert "Donnerstag, 10. Dezember 2099, 14:00–15:00 Uhr" in body(created)

    first = await bernd.ask(room, "!anmelden #1 Stadt Bielefeld")
    assert "Sie sind angemeldet für #1 Kommunale Wärmeplanung" in body(first)
    waiting = await clara.ask(room, "!register #1")
    assert "Warteliste an Platz 1" in body(waiting)
    again = await clara.ask(room, "!anmelden #1")
    assert "bereits auf der Warteliste (Platz 1)" in body(again)

    listing = await clara.ask(room, "!termine")
    assert "#1" in body(listing) and "ausgebucht (1 Platz), 1 auf der Warteliste" in body(listing)
    details = await clara.ask(room, "!termin #1")
    assert "Warteliste: 1" in body(details) and "https://meet.example.org/waerme" in body(details)

    mine = await clara.ask(room, "!meine")
    assert "Warteliste, Platz 1" in body(mine)

    cancel = await bernd.say(room, "!abmelden #1")
    cancelled = await bernd.answer(room, cancel)
    assert "abgemeldet" in body(cancelled)
    promoted = (
        await clara.wait_for(lambda e: clara.user_id in e.get("content", {}).get("m.mentions", {}).get("user_ids", []))
    )[0]
    assert promoted["content"]["msgtype"] == "m.text" and promoted["room_id"] != room  # privately
    assert promoted["content"]["m.mentions"] == {"user_ids": [clara.user_id]}
    assert "Sie sind jetzt angemeldet" in body(promoted)
    in_the_room = [e for e in bernd.events if e["room_id"] == room and e["sender"] != bernd.user_id]
    assert not [e for e in in_the_room if clara.user_id in str(e["content"])]  # nobody learns who waited

    mine = await clara.ask(room, "!mine")
    assert "#1" in body(mine) and "angemeldet" in body(mine) and "Warteliste" not in body(mine)
    nothing = await bernd.ask(room, "!meine")
    assert "für keinen kommenden Termin angemeldet" in body(nothing)
    not_registered = await bernd.ask(room, "!abmelden #1")
    assert "nicht angemeldet" in body(not_registered)


async def test_help_roles_and_refusals(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd)

    staff_help = body(await bernd.ask(room, "!hilfe"))
    assert "!anmelden" in staff_help and "!termin neu" not in staff_help
    coordinator_help = body(await anna.ask(room, "!help"))
    assert "!termin neu" in coordinator_help

    refused = await bernd.ask(room, "!termin neu Test | morgen 10 Uhr")
    assert "Koordination" in body(refused)
    assert "Unbekannt" not in body(refused)

    assert "kenne ich nicht" in body(await bernd.ask(room, "!quatsch"))
    assert "Meinten Sie !anmelden" in body(await bernd.ask(room, "!anmeldn #1"))
    assert "Einen Termin #42 gibt es nicht" in body(await bernd.ask(room, "!termin #42"))
    assert "Nummer des Termins" in body(await bernd.ask(room, "!termin"))
    assert "kein Termin zur Anmeldung offen" in body(await bernd.ask(room, "!anmelden"))
    assert "Vergangenheit" in body(await anna.ask(room, "!termin neu Rückblick | gestern 10 Uhr"))
    assert "Uhrzeit" in body(await anna.ask(room, "!termin neu Ohne Zeit | 10.12."))
    assert "So legen Sie einen Termin an" in body(await anna.ask(room, "!termin neu"))
    assert "Platzzahl" in body(await anna.ask(room, "!termin neu X | morgen 10 Uhr | Plätze: viele"))

    one = await anna.ask(room, "!termin neu OZG in der Praxis | morgen 10 Uhr")
    assert "#1" in body(one)
    # With a single open session, !anmelden without a number takes it.
    assert "Sie sind angemeldet für #1" in body(await bernd.ask(room, "!anmelden"))
    assert "bereits angemeldet" in body(await bernd.ask(room, "!anmelden #1"))
    await anna.ask(room, "!termin neu Vergaberecht | übermorgen 10 Uhr")
    assert "Für welchen Termin" in body(await anna.ask(room, "!anmelden"))


async def test_user_text_is_escaped_and_threads_are_answered_in_thread(people, bot_config, run_bot):
    anna = await people("anna")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id)

    title = "<script>alert(1)</script> & **Fett**"
    created = await anna.ask(room, f"!termin neu {title} | morgen 10 Uhr")
    assert title in body(created)
    assert html.escape(title, quote=False) in created["content"]["formatted_body"]
    assert "<script>" not in created["content"]["formatted_body"]

    root = await anna.say(room, "Fragen zu den Terminen")
    in_thread = await anna.say(room, "!termine", thread_root=root)
    answer = await anna.answer(room, in_thread)
    relates = answer["content"]["m.relates_to"]
    assert relates["rel_type"] == "m.thread" and relates["event_id"] == root
    assert replied_to(answer) == in_thread

    quoted = "> <@someone:localhost> !termine\n\n!meine"
    reply = await anna.ask(room, quoted)
    assert "Sie sind für keinen kommenden Termin angemeldet" in body(reply)


async def test_notices_and_edits_are_not_commands(people, bot_config, run_bot):
    anna = await people("anna")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id)
    notice = await anna.say(room, "!termine", msgtype="m.notice")
    edit = await anna.say(
        room,
        "* !termine",
        extra={
            "m.new_content": {"msgtype": "m.text", "body": "!termine"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": notice},
        },
    )
    marker = await anna.ask(room, "!hilfe")
    assert marker
    assert anna.answers_to(notice) == [] and anna.answers_to(edit) == []
