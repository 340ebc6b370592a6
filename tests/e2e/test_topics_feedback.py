"""Topic wishes and feedback against a real homeserver: a wish proposed, voted for with 👍, a
look-alike pointed to it, planned into a session with its voters told privately; after a session
the feedback question by direct message, answered by reply, by digit reaction and by command,
evaluated for the coordinator and in the protocol, exactly once across a restart, and stored
without anyone's name."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from nio import RoomSendResponse
from sqlmodel import select

from rules.polls import POLL_END, POLL_RESPONSE, POLL_START, TEXT
from rules.timing import Kind
from storage.models import FeedbackAnswer, PlannedStatus
from tests.e2e.people import body, shared_room
from tests.e2e.sessions import add_session, edits_of, from_bot, planned

pytestmark = pytest.mark.e2e
BERLIN = ZoneInfo("Europe/Berlin")


def reactions_of(sender: str, event_id: str):
    def match(e):
        relates = e.get("content", {}).get("m.relates_to") or {}
        return e["sender"] == sender and e.get("type") == "m.reaction" and relates.get("event_id") == event_id

    return match


async def until(ask, text: str, tries: int = 50) -> str:
    """Ask again (reactions are handled a moment after they are sent) until the answer shows `text`."""
    for _ in range(tries):
        answer = body(await ask())
        if text in answer:
            return answer
        await asyncio.sleep(0.2)
    raise AssertionError(f"never saw {text!r}; last answer: {answer}")


async def test_a_wish_is_voted_for_pointed_to_and_planned_with_its_voters_told(people, bot_config, run_bot):
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id], schedule={"announce_before": []}))
    room = await shared_room(anna, bot.user_id, bernd, clara)

    proposed = await bernd.ask(room, "!thema Mobiles Arbeiten | Erfahrungen mit Dienstvereinbarungen")
    assert "T1" in body(proposed)
    post = (await bernd.wait_for(from_bot(bot.user_id, room, "Themenwunsch T1"), timeout=10))[0]
    assert "Dienstvereinbarungen" in body(post) and post["content"]["m.mentions"] == {}
    await bernd.react(room, post["event_id"], "👍")  # the proposer's own vote counts
    await clara.react(room, post["event_id"], "👍")
    withdrawn = await anna.react(room, post["event_id"], "👍")
    await until(lambda: anna.ask(room, "!themen"), "3 👍")
    await anna.redact(room, withdrawn)
    await until(lambda: anna.ask(room, "!themen"), "2 👍")

    hint = body(await clara.ask(room, "!thema Mobile Arbeit im Bauamt"))
    assert "Gibt es schon: T1 Mobiles Arbeiten (2 👍) – stimmen Sie dort mit 👍 zu?" in hint
    assert f"https://matrix.to/#/{room}/{post['event_id']}" in hint and "!thema trotzdem" in hint
    assert not [e for e in clara.events if from_bot(bot.user_id, room, "Themenwunsch T2")(e)]

    offered = body(await clara.ask(room, "!thema T1 referieren"))
    assert "Danke" in offered
    told = from_bot(bot.user_id, None, "könnte zum Themenwunsch T1")
    notice = (await anna.wait_for(lambda e: told(e) and e["room_id"] != room, timeout=10))[0]
    assert clara.user_id in body(notice)
    ranking = body(await bernd.ask(room, "!themen"))
    assert "T1 · 2 👍 · Mobiles Arbeiten · 🎤 1 Angebot zu referieren" in ranking
    assert clara.user_id not in ranking and "clara" not in ranking.lower()
    await anna.ask(room, "!themen")
    offers = from_bot(bot.user_id, None, "Angebote zu referieren")
    private = await anna.wait_for(lambda e: offers(e) and e["room_id"] != room, timeout=10)
    assert clara.user_id in body(private[0])
    assert not [e for e in bernd.events if offers(e)]  # staff never get the names

    for attempt in ("!thema T1 schließen", "!thema T1 planen | morgen 14 Uhr"):
        assert "kann die Koordination" in body(await bernd.ask(room, attempt))
    day = f"{(datetime.now(BERLIN) + timedelta(days=7)):%d.%m.%Y}"
    planned_answer = body(await anna.ask(room, f"!thema T1 planen | {day} 14–16 Uhr | Plätze: 20"))
    assert "#1 angelegt" in planned_answer and "Mobiles Arbeiten" in planned_answer
    assert "2 Personen" in planned_answer
    for person in (bernd, clara):
        told = from_bot(bot.user_id, None, "Ihr Themenwunsch T1 wird zum Termin")
        dm = (await person.wait_for(lambda e, t=told: t(e) and e["room_id"] != room, timeout=10))[0]
        assert "#1" in body(dm) and "!anmelden #1" in body(dm)
        assert dm["content"]["m.mentions"] == {"user_ids": [person.user_id]}
    await bernd.wait_for(edits_of(post["event_id"], "Geplant als Termin #1"), timeout=10)
    assert "keine offenen Themenwünsche" in body(await anna.ask(room, "!themen"))

    insisted = body(await clara.ask(room, "!thema trotzdem Mobile Arbeit im Bauamt"))
    assert "T2" in insisted
    await clara.wait_for(from_bot(bot.user_id, room, "Themenwunsch T2"), timeout=10)
    assert "geschlossen" in body(await anna.ask(room, "!thema T2 schließen doppelt"))
    assert "Geschlossen." in body(await bernd.ask(room, "!thema T2"))


async def test_feedback_is_asked_after_the_session_answered_three_ways_and_totalled_anonymously(
    people, bot_config, run_bot
):
    anna, bernd, clara, dora = await people("anna"), await people("bernd"), await people("clara"), await people("dora")
    config = await bot_config(
        coordinators=[anna.user_id],
        schedule={"announce_before": [], "remind_before": [], "feedback_after": "1s", "grace": "1h"},
    )
    bot = await run_bot(config)
    room = await shared_room(anna, bot.user_id, bernd, clara, dora)
    sid = await add_session(bot, room, timedelta(seconds=5), lasts=timedelta(seconds=1))
    for person in (bernd, clara, dora):
        assert "angemeldet" in body(await person.ask(room, f"!anmelden #{sid}"))
    assert "noch nicht vorbei" in body(await bernd.ask(room, f"!feedback #{sid}"))

    asked = from_bot(bot.user_id, None, "Wie war #")
    questions = {}
    for person in (bernd, clara, dora):
        question = (await person.wait_for(lambda e: asked(e) and e["room_id"] != room, timeout=30))[0]
        assert question["content"]["m.mentions"] == {"user_ids": [person.user_id]}
        assert "Was nehmen Sie mit?" in body(question)
        questions[person.user_id] = question
    offered = await clara.wait_for(reactions_of(bot.user_id, questions[clara.user_id]["event_id"]), count=5)
    assert [e["content"]["m.relates_to"]["key"] for e in offered] == [f"{n}\ufe0f\u20e3" for n in range(1, 6)]

    def reply(question):
        return {"m.relates_to": {"m.in_reply_to": {"event_id": question["event_id"]}}}

    bq, cq, dq = (questions[p.user_id] for p in (bernd, clara, dora))
    thanks = from_bot(bot.user_id, None, "Danke! Ihre Rückmeldung")
    await bernd.say(bq["room_id"], "4 Die Dienstvereinbarung aus Gütersloh nehme ich als Vorlage", extra=reply(bq))
    await clara.react(cq["room_id"], cq["event_id"], "5\ufe0f\u20e3")
    await dora.say(dq["room_id"], "2 zu lang", extra=reply(dq))
    for person in (bernd, clara, dora):
        await person.wait_for(thanks, timeout=10)
    replaced = await dora.ask(dq["room_id"], f"!feedback #{sid} 3 Gute Beispiele aus der Praxis")
    assert "gespeichert" in body(replaced) and "3" not in body(replaced).replace(f"#{sid}", "")

    await anna.ask(room, f"!auswertung #{sid}")
    evaluated = from_bot(bot.user_id, None, "Auswertung #")
    evaluation = body((await anna.wait_for(lambda e: evaluated(e) and e["room_id"] != room, timeout=10))[0])
    assert "Ø 4,0 von 5 (3 Antworten; 5 bis 1: 5: 1 · 4: 1 · 3: 1 · 2: 0 · 1: 0)" in evaluation
    assert "Gütersloh" in evaluation and "Gute Beispiele" in evaluation and "zu lang" not in evaluation

    await anna.ask(room, f"!protokoll #{sid} https://example.org/protokoll-mobil.pdf")
    protocol = (await bernd.wait_for(from_bot(bot.user_id, room, "ist online"), timeout=10))[0]
    assert "Ø 4,0 von 5 (3 Antworten" in body(protocol)

    # In place instead: a Matrix poll, whose votes the room sees (and the bot says so).
    started = body(await anna.ask(room, f"!umfrage #{sid}"))
    assert "sehen alle im Raum" in started
    poll = (await bernd.wait_for(lambda e: e.get("type") == POLL_START and e["room_id"] == room, timeout=10))[0]
    assert "für alle im Raum sichtbar" in poll["content"][POLL_START]["question"][TEXT]
    assert poll["content"][TEXT].endswith("5. 1 – gar nicht hilfreich")
    for person, answer in ((bernd, "5"), (clara, "3"), (clara, "4")):  # Clara changes her mind
        response = {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
            POLL_RESPONSE: {"answers": [answer]},
        }
        sent = await person.client.room_send(room, POLL_RESPONSE, response)
        assert isinstance(sent, RoomSendResponse), sent
    await anna.ask(room, f"!umfrage ende #{sid}")
    end = (await bernd.wait_for(lambda e: e.get("type") == POLL_END and e["room_id"] == room, timeout=10))[0]
    assert end["content"]["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll["event_id"]}
    assert "Ø 4,5 von 5 (2 Antworten" in end["content"][TEXT]

    await bot.stop()  # exactly once: a restart asks nobody again
    await bot.start()
    await asyncio.sleep(1)
    for person in (bernd, clara, dora):
        assert len([e for e in person.events if asked(e)]) == 1
    feedback = await planned(bot, sid, Kind.FEEDBACK)
    assert [row.status for row in feedback] == [PlannedStatus.SENT]
    assert len(await planned(bot, sid, Kind.FEEDBACK_DM)) == 3

    assert bot.bot is not None
    async with bot.bot.db.transaction() as s:
        answers = (await s.exec(select(FeedbackAnswer))).all()
    assert sorted(a.rating for a in answers) == [3, 4, 5]
    names = [p.user_id for p in (bernd, clara, dora)]
    for answer in answers:
        stored = " ".join(str(value) for value in answer.model_dump().values())
        assert not any(n in stored or n.split(":")[0].lstrip("@") in stored for n in names)
