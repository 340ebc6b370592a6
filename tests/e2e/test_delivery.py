"""Everything the bot sends arrives exactly once, also when sends fail: a proxy in front of the
homeserver answers 502 and then resets connections; identical announcement edits are not taken
for repeats; a digest far beyond the event size limit arrives complete, in parts. Where the bot may
not post, the coordinators get one report, its inviter is told, and the bot leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from nio import RoomGetStateEventResponse, RoomPutStateResponse
from sqlmodel import col, select

from storage.models import OutboxMessage, OutboxStatus, QaRound, Question
from storage.rows import save
from tests.e2e.faults import FaultProxy
from tests.e2e.people import Event, body, replied_to, shared_room
from tests.e2e.sessions import add_session, edits_of, from_bot

pytestmark = pytest.mark.e2e


async def test_sends_refused_with_502_then_reset_all_arrive_exactly_once(synapse, people, bot_config, run_bot):
    proxy = await FaultProxy(synapse.url).start()
    try:
        anna, bernd = await people("anna"), await people("bernd")
        bot = await run_bot(await bot_config(coordinators=[anna.user_id], matrix={"homeserver": proxy.url}))
        room = await shared_room(anna, bot.user_id, bernd)
        await anna.ask(room, "!termin neu Vergaberecht | morgen 14 Uhr | Plätze: 1")
        announcement = (await bernd.wait_for(from_bot(bot.user_id, room, "Einladung zur Regiopol")))[0]["event_id"]

        proxy.mode = "bad_gateway"  # the proxy while Synapse restarts: reads pass, sends get 502
        commands = [await bernd.say(room, text) for text in ("!termine", "!anmelden #1", "!meine")]
        await asyncio.sleep(20)
        assert all(bernd.answers_to(c) == [] for c in commands)
        proxy.mode = "reset"
        await asyncio.sleep(5)
        proxy.mode = "pass"

        answers = await bernd.wait_for(lambda e: replied_to(e) in commands, count=3, timeout=90)
        # Answers to different commands go out side by side, each a reply to its command.
        by_command = {replied_to(a): a for a in answers}
        assert sorted(by_command) == sorted(commands)
        assert "angemeldet" in body(by_command[commands[1]]) and "#1" in body(by_command[commands[2]])
        await bernd.wait_for(edits_of(announcement, "ausgebucht"), timeout=30)
        assert proxy.refused >= 3
        await asyncio.sleep(2)  # time for any duplicate to show up
        for command in commands:
            assert len(bernd.answers_to(command)) == 1
    finally:
        await proxy.stop()


async def test_register_cancel_register_ends_with_an_announcement_that_tells_the_truth(people, bot_config, run_bot):
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, clara)
    await anna.ask(room, "!termin neu Starkregen | morgen 10 Uhr | Plätze: 1")
    announcement = (await bernd.wait_for(from_bot(bot.user_id, room, "Einladung zur Regiopol")))[0]["event_id"]
    await bernd.ask(room, "!anmelden #1")
    await bernd.wait_for(edits_of(announcement, "ausgebucht"))
    await bernd.ask(room, "!abmelden #1")
    await bernd.wait_for(edits_of(announcement, "1 von 1 Platz frei"))
    await clara.ask(room, "!anmelden #1")  # the same text as the first edit: still sent
    edits = await bernd.wait_for(edits_of(announcement, "ausgebucht"), count=2)
    assert len(edits) == 2
    latest = [e for e in bernd.events if edits_of(announcement, "")(e)][-1]
    assert "ausgebucht" in latest["content"]["m.new_content"]["body"]


async def test_a_digest_beyond_the_event_limit_arrives_complete_in_parts(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd)
    sid = await add_session(bot, room, timedelta(minutes=10))
    assert "eröffnet" in body(await anna.ask(room, "!fragerunde start"))
    assert bot.bot is not None
    now = datetime.now(UTC)
    async with bot.bot.db.transaction() as s:  # 60 long questions (more than one person may ask a minute)
        round_ = (await s.exec(select(QaRound).where(QaRound.session_id == sid))).one()
        for number in range(1, 61):
            text = f"Frage {number:02d}: " + "Wie genau funktioniert die Förderung für Kommunen? " * 15
            await save(
                s,
                Question(
                    session_id=sid,
                    round_id=round_.id,
                    number=number,
                    author=bernd.user_id,
                    text=text[:800],
                    asked_at=now,
                    event_id=f"$q{number}",
                ),
            )
    ended = await anna.ask(room, "!fragerunde ende")
    assert "60 Fragen" in body(ended)

    def digest_part(e: Event) -> bool:
        relates = e.get("content", {}).get("m.relates_to") or {}
        return e["sender"] == bot.user_id and relates.get("rel_type") == "m.thread" and "Frage " in body(e)

    parts = await bernd.wait_for(digest_part, count=2, timeout=30)
    await asyncio.sleep(2)
    parts = [e for e in bernd.events if digest_part(e) and e["content"].get("msgtype") == "m.text"]
    text = "\n".join(body(p) for p in parts)
    assert len(parts) >= 2 and all(f"Frage {n:02d}:" in text for n in range(1, 61))
    assert all(len(str(p["content"]).encode()) < 64 * 1024 for p in parts)


async def test_ten_commands_where_the_bot_may_not_post_make_one_report_and_it_leaves(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await bernd.create_room(invite=[bot.user_id])  # bernd invites the bot into his room
    await bernd.wait_for(from_bot(bot.user_id, room, ""))  # it joined and said hello

    await bot.stop()
    levels = await bernd.client.room_get_state_event(room, "m.room.power_levels")
    assert isinstance(levels, RoomGetStateEventResponse), levels
    content = dict(levels.content, events={**levels.content.get("events", {}), "m.room.message": 50})
    assert isinstance(await bernd.client.room_put_state(room, "m.room.power_levels", content), RoomPutStateResponse)
    commands = [await bernd.say(room, "!termine") for _ in range(10)]  # read in one batch after the start
    await bot.start()

    def left(e: Event) -> bool:
        return e.get("state_key") == bot.user_id and e["content"].get("membership") == "leave"

    await bernd.wait_for(lambda e: e["room_id"] == room and left(e), timeout=30)
    told = await bernd.wait_for(lambda e: e["sender"] == bot.user_id and "Sie haben regiobot" in body(e), timeout=30)
    assert told[0]["room_id"] != room
    await anna.wait_for(lambda e: e["sender"] == bot.user_id and "keine Nachrichten senden" in body(e), timeout=30)
    await asyncio.sleep(3)  # time for any further report to show up
    assert len([e for e in anna.events if e["sender"] == bot.user_id and e.get("type") == "m.room.message"]) == 1
    assert all(bernd.answers_to(c) == [] for c in commands)
    assert bot.bot is not None
    answers = select(OutboxMessage).where(OutboxMessage.room_id == room, col(OutboxMessage.lane).startswith("answer:"))
    async with bot.bot.db.transaction() as s:
        failed = (await s.exec(answers)).all()
    assert len(failed) == 10 and {m.status for m in failed} == {OutboxStatus.FAILED}
