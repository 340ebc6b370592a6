"""Rating polls: the MSC3381 events as Element sends them, counting responses as clients do, and
`!umfrage` through the dispatcher (the result read from the responses when the end goes out)."""

from __future__ import annotations

from datetime import timedelta

from bot.dispatch import Incoming
from rules.polls import POLL_END, POLL_RESPONSE, POLL_START, STABLE_RESPONSE, TEXT, Response, responses_of, tally
from rules.rating_poll import RATING_IDS, rating_poll
from rules.voice import Voice
from tests.unit.fakes import COORDINATOR, NOW

ROOM = "!room:localhost"
VOICE = Voice("de", "!", NOW.tzinfo, NOW)  # type: ignore[arg-type]


def response(sender: str, ts: int, *answers: str, stable: bool = False, poll: str = "$poll") -> dict:
    kind = STABLE_RESPONSE if stable else POLL_RESPONSE
    return {
        "type": kind,
        "sender": sender,
        "origin_server_ts": ts,
        "content": {"m.relates_to": {"rel_type": "m.reference", "event_id": poll}, kind: {"answers": list(answers)}},
    }


def test_the_rating_poll_is_a_disclosed_single_choice_poll_with_a_text_fallback():
    content = rating_poll(VOICE, "#3", "Vergabe")
    block = content[POLL_START]
    assert block["kind"] == "org.matrix.msc3381.poll.disclosed" and block["max_selections"] == 1
    assert [a["id"] for a in block["answers"]] == ["5", "4", "3", "2", "1"]
    assert block["answers"][0][TEXT] == "5 – sehr hilfreich"
    assert "für alle im Raum sichtbar" in block["question"][TEXT]
    assert content[TEXT].startswith(block["question"][TEXT]) and "\n1. 5 – sehr hilfreich" in content[TEXT]
    assert content["body"] == content[TEXT]


def test_each_persons_latest_valid_response_counts_once():
    events = [
        response("@a:x", 1, "5"),
        response("@a:x", 3, "4"),  # changed their mind: the later one counts
        response("@b:x", 2, "5", stable=True),  # the stable prefix counts too
        response("@c:x", 2, "9"),  # unknown answer: spoiled
        response("@d:x", 2, "3", "2"),  # more than one: cut to the first
        response("@e:x", 2),  # empty: no vote
        {"type": "m.reaction", "sender": "@f:x", "content": {}},  # not a response
    ]
    parsed = responses_of(events)
    assert Response("@a:x", 3, ("4",)) in parsed and len(parsed) == 6
    assert tally(parsed, RATING_IDS) == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}


async def test_a_coordinator_starts_and_ends_a_poll_and_the_result_is_counted_on_sending(bot):
    dispatcher, outbox = bot
    start = (NOW + timedelta(days=1)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$new", f"!termin neu Vergabe | {start}"), NOW)
    await dispatcher.handle(Incoming(ROOM, "@bernd:localhost", "$p0", "!umfrage #1"), NOW)
    assert "vorbehalten" in outbox.bodies()[-1]
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$end0", "!umfrage ende #1"), NOW)
    assert "läuft keine Umfrage" in outbox.bodies()[-1]
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$p1", "!umfrage #1"), NOW)
    assert "sehen alle im Raum" in outbox.bodies()[-1]
    started = [(room, c) for room, c, _ in outbox.sent if POLL_START in c]
    assert len(started) == 1 and started[0][0] == ROOM
    poll_event = f"$event{next(i for i, (_, c, _) in enumerate(outbox.sent) if POLL_START in c) + 1}"
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$p2", "!umfrage #1"), NOW)
    assert "schon eine Umfrage" in outbox.bodies()[-1]

    outbox.related = [
        response("@a:x", 1, "5", poll=poll_event),
        response("@b:x", 1, "4", poll=poll_event),
        response("@c:x", 1, "1", poll="$other"),
    ]
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$end", "!umfrage ende #1"), NOW)
    ended = [c for _, c, _ in outbox.sent if POLL_END in c]
    assert len(ended) == 1
    assert ended[0]["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll_event}
    assert "Ø 4,5 von 5 (2 Antworten" in ended[0][TEXT] and ended[0]["body"] == ended[0][TEXT]
