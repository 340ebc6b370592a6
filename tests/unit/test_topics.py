"""Topic wishes through the dispatcher: posted for voting, 👍 counted once and withdrawn, look-alikes
pointed to, talk offers only ever named privately to coordinators, planned with voters told."""

from __future__ import annotations

from datetime import timedelta

from bot.dispatch import EventKind, Incoming
from tests.unit.fakes import COORDINATOR, NOW

ROOM = "!room:localhost"
BERND, CLARA = "@bernd:localhost", "@clara:localhost"


def say(body: str, sender: str, event_id: str, room: str = ROOM) -> Incoming:
    return Incoming(room, sender, event_id, body)


def thumbs(sender: str, event_id: str, target: str, key: str = "👍") -> Incoming:
    return Incoming(ROOM, sender, event_id, kind=EventKind.REACTION, key=key, target=target)


async def test_a_wish_from_proposal_to_session(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!thema Mobiles Arbeiten | Dienstvereinbarungen", BERND, "$t1", "!elsewhere"), NOW)
    assert "offiziellen Raum" in outbox.bodies()[-1]
    await dispatcher.handle(say("!thema Mobiles Arbeiten | Dienstvereinbarungen", BERND, "$t1b"), NOW)
    post = next(i for i, (_, c, _) in enumerate(outbox.sent) if "Themenwunsch T1" in c["body"])
    post_event = f"$event{post + 1}"
    assert outbox.sent[post][0] == ROOM and "Dienstvereinbarungen" in outbox.sent[post][1]["body"]
    assert "T1" in outbox.bodies()[-1]

    for sender, event in ((BERND, "$v1"), (CLARA, "$v2"), (CLARA, "$v3"), (COORDINATOR, "$v4")):
        await dispatcher.handle(thumbs(sender, event, post_event), NOW)  # Clara's second 👍 counts once
    await dispatcher.handle(thumbs(BERND, "$v5", post_event, key="👎"), NOW)  # not a vote
    await dispatcher.handle(Incoming(ROOM, BERND, "$r4", kind=EventKind.REDACTION, target="$v4"), NOW)  # not his
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$r4b", kind=EventKind.REDACTION, target="$v4"), NOW)
    await dispatcher.handle(say("!themen", BERND, "$l1"), NOW)
    assert "T1 · 2 👍 · Mobiles Arbeiten" in outbox.bodies()[-1]

    await dispatcher.handle(say("!thema Mobile Arbeit", CLARA, "$t2"), NOW)
    assert "Gibt es schon: T1 Mobiles Arbeiten (2 👍)" in outbox.bodies()[-1]
    assert f"https://matrix.to/#/{ROOM}/{post_event}" in outbox.bodies()[-1]
    assert not any("Themenwunsch T2" in b for b in outbox.bodies())

    await dispatcher.handle(say("!thema T1 referieren", CLARA, "$o1"), NOW)
    await dispatcher.handle(say("!thema T1 referieren", CLARA, "$o2"), NOW)
    assert "schon vermerkt" in outbox.bodies()[-1]
    notices = [(room, c["body"]) for room, c, _ in outbox.sent if "könnte zum Themenwunsch T1" in c["body"]]
    assert notices == [
        (
            f"!dm-{COORDINATOR}",
            f"🎤 {CLARA} könnte zum Themenwunsch T1 „Mobiles Arbeiten“ den Input halten (Schulterblick aus der "
            "Praxis).",
        )
    ]
    before = len(outbox.sent)
    await dispatcher.handle(say("!themen", COORDINATOR, "$l2"), NOW)
    listed = outbox.sent[before:]
    in_room = [c["body"] for room, c, _ in listed if room == ROOM]
    private = [c["body"] for room, c, _ in listed if room == f"!dm-{COORDINATOR}"]
    assert "🎤 1 Angebot zu referieren" in in_room[0] and CLARA not in in_room[0]
    assert CLARA in private[0]
    before = len(outbox.sent)
    await dispatcher.handle(say("!themen", BERND, "$l3"), NOW)
    assert all(CLARA not in c["body"] for _, c, _ in outbox.sent[before:])

    await dispatcher.handle(say("!thema T1 planen | morgen 14 Uhr", BERND, "$p0"), NOW)
    assert "kann die Koordination" in outbox.bodies()[-1]
    await dispatcher.handle(say("!thema T1 planen", COORDINATOR, "$p1"), NOW)
    assert "wann der Termin ist" in outbox.bodies()[-1]
    day = (NOW + timedelta(days=10)).astimezone(dispatcher.config.timezone)
    before = len(outbox.sent)
    await dispatcher.handle(say(f"!thema T1 planen | {day:%d.%m.%Y} 14–16 Uhr | Plätze: 20", COORDINATOR, "$p2"), NOW)
    sent = outbox.sent[before:]
    told = sorted(room for room, c, _ in sent if "Ihr Themenwunsch T1 wird zum Termin #1 Mobiles Arbeiten" in c["body"])
    assert told == [f"!dm-{BERND}", f"!dm-{CLARA}"]  # the voters (the proposer among them), not the one who withdrew
    edited = [c for room, c, _ in sent if c.get("m.relates_to", {}).get("rel_type") == "m.replace"]
    assert edited[0]["m.relates_to"]["event_id"] == post_event and edited[0]["m.mentions"] == {}
    assert "Geplant als Termin #1" in edited[0]["m.new_content"]["body"]
    reply = [c["body"] for room, c, _ in sent if room == ROOM][-1]
    assert "#1 angelegt" in reply and "Mobiles Arbeiten" in reply and "2 Personen" in reply
    await dispatcher.handle(thumbs(COORDINATOR, "$v6", post_event), NOW)  # a planned wish takes no votes
    await dispatcher.handle(say("!thema T1", BERND, "$s1"), NOW)
    assert "Geplant als Termin #1" in outbox.bodies()[-1]
    await dispatcher.handle(say("!thema T1 schließen", COORDINATOR, "$c1"), NOW)
    assert "schon als Termin #1 geplant" in outbox.bodies()[-1]
    await dispatcher.handle(say("!thema T9 referieren", BERND, "$u1"), NOW)
    assert "gibt es nicht" in outbox.bodies()[-1]
    await dispatcher.handle(say("!thema T1 löschen", BERND, "$u2"), NOW)
    assert "kenne ich bei T1 nicht" in outbox.bodies()[-1]
    await dispatcher.handle(say("!themen", BERND, "$l4"), NOW)
    assert "keine offenen Themenwünsche" in outbox.bodies()[-1]
