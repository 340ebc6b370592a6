"""Feedback: reading answers, the keyed hash, the thresholds and totals, and the flow through the
dispatcher (answers by command, replacement, evaluation, anonymity in the database)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.dispatch import Incoming
from rules.errors import UserError
from rules.feedback import (
    MIN_ANSWERS,
    Answer,
    evaluation,
    parse_answer,
    rating_of_reaction,
    respondent,
    totals,
    totals_line,
)
from rules.voice import Voice
from storage import feedback, planned, sessions
from storage.models import FeedbackAnswer
from tests.unit.fakes import COORDINATOR, NOW

VOICE = Voice("de", "!", NOW.tzinfo, NOW)  # type: ignore[arg-type]
ROOM = "!room:localhost"


def test_an_answer_is_a_rating_and_maybe_a_sentence():
    assert parse_answer("4 Gute Beispiele aus Gütersloh") == Answer(4, "Gute Beispiele aus Gütersloh")
    assert parse_answer("5") == Answer(5, None)
    assert parse_answer(" 3/5 – ganz ok ") == Answer(3, "ganz ok")
    assert parse_answer("2, zu lang") == Answer(2, "zu lang")
    assert parse_answer("4 von 5: gut") == Answer(4, "gut")


@pytest.mark.parametrize("text", ["", "gut", "6 super", "0", "10 von 10", "4,5 fast perfekt", "45"])
def test_no_rating_no_answer(text):
    with pytest.raises(UserError) as refused:
        parse_answer(text)
    assert refused.value.key == "feedback.rating_missing"


def test_digit_reactions_with_and_without_variation_selector():
    assert rating_of_reaction("4\ufe0f\u20e3") == 4
    assert rating_of_reaction("1\u20e3") == 1
    assert rating_of_reaction("👍") is None
    assert rating_of_reaction("6\ufe0f\u20e3") is None


def test_the_keyed_hash_is_stable_per_session_and_unlinkable_across_sessions_and_keys():
    first = respondent("secret-key-0123456789", 3, "@anna:localhost")
    assert first == respondent("secret-key-0123456789", 3, "@anna:localhost") and len(first) == 64
    assert first != respondent("secret-key-0123456789", 4, "@anna:localhost")
    assert first != respondent("secret-key-0123456789", 3, "@bernd:localhost")
    assert first != respondent("another-secret-key-99", 3, "@anna:localhost")
    assert "anna" not in first


def test_totals_only_from_three_answers():
    assert MIN_ANSWERS == 3
    assert totals([]) is None and totals([5, 4]) is None
    result = totals([5, 4, 4])
    assert result is not None and result.count == 3
    assert result.distribution == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}
    assert round(result.average, 2) == 4.33
    assert (
        totals_line(VOICE, result).plain
        == "Bewertung: Ø 4,3 von 5 (3 Antworten; 5 bis 1: 5: 1 · 4: 2 · 3: 0 · 2: 0 · 1: 0)"
    )


def test_the_evaluation_hides_everything_below_the_minimum_and_shuffles_sentences():
    few = evaluation(VOICE, "#3", "Vergabe", 2, None, ["geheim"], random.Random(1)).plain
    assert "2 Antworten" in few and "ab 3 Antworten" in few and "geheim" not in few
    sentences = [f"Satz {n}" for n in range(8)]
    shown = evaluation(VOICE, "#3", "Vergabe", 8, totals([4] * 8), sentences, random.Random(1)).plain
    order = [line.removeprefix("– ") for line in shown.split("\n") if line.startswith("– ")]
    assert sorted(order) == sentences and order != sentences


def dm(user: str) -> str:
    return f"!dm-{user}"


async def test_feedback_by_command_is_anonymous_replaces_and_is_evaluated_from_three_answers(bot):
    dispatcher, outbox = bot
    start = (NOW + timedelta(days=1)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$new", f"!termin neu Vergabe | {start}"), NOW)
    people = ["@bernd:localhost", "@clara:localhost", "@dora:localhost"]
    for n, person in enumerate(people):
        await dispatcher.handle(Incoming(ROOM, person, f"$r{n}", "!anmelden #1"), NOW)
    await dispatcher.handle(Incoming(dm(people[0]), people[0], "$early", "!feedback #1 5 toll"), NOW)
    assert "noch nicht vorbei" in outbox.bodies()[-1]
    after = NOW + timedelta(days=2)
    await dispatcher.handle(Incoming(ROOM, people[0], "$public", "!feedback #1 1 schlecht"), after)
    assert "Direktnachricht" in outbox.bodies()[-1]
    await dispatcher.handle(Incoming(dm("@eve:localhost"), "@eve:localhost", "$eve", "!feedback #1 1"), after)
    assert "Angemeldeten" in outbox.bodies()[-1]

    await dispatcher.handle(Incoming(dm(people[0]), people[0], "$a0", "!feedback #1 2 zu kurz"), after)
    await dispatcher.handle(Incoming(dm(people[0]), people[0], "$a0b", "!feedback #1 5 Die Vorlage hilft"), after)
    await dispatcher.handle(Incoming(dm(people[1]), people[1], "$a1", "!feedback #1 4"), after)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$ev1", "!auswertung #1"), after)
    evaluated = [c["body"] for room, c, _ in outbox.sent if room == dm(COORDINATOR)][-1]
    assert "2 Antworten" in evaluated and "ab 3" in evaluated and "zu kurz" not in evaluated
    await dispatcher.handle(Incoming(dm(people[2]), people[2], "$a2", "!feedback #1 3 Gut zu wissen"), after)
    assert "gespeichert" in outbox.bodies()[-1] and "3" not in outbox.bodies()[-1].split("„")[0]

    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$ev2", "!auswertung #1"), after)
    private = [sent for sent in outbox.sent if sent[0] == dm(COORDINATOR)][-1]
    assert "Ø 4,0 von 5 (3 Antworten" in private[1]["body"]
    assert "Die Vorlage hilft" in private[1]["body"] and "zu kurz" not in private[1]["body"]
    in_room = [c["body"] for room, c, _ in outbox.sent if room == ROOM][-1]
    assert "privat" in in_room and "Vorlage" not in in_room
    await dispatcher.handle(Incoming(ROOM, people[0], "$ev3", "!auswertung #1"), after)
    assert "vorbehalten" in outbox.bodies()[-1]

    async with dispatcher.db.transaction() as s:
        rows = (await s.exec(select(FeedbackAnswer))).all()
        assert (await feedback.feedback_totals(s, 1)) is not None
    assert len(rows) == 3
    stored = " ".join(f"{r.respondent} {r.text}" for r in rows)
    assert not any(p in stored or p.split(":")[0][1:] in stored for p in people)


async def test_my_data_shows_and_deleting_removes_ones_own_answers(bot):
    dispatcher, outbox = bot
    start = (NOW + timedelta(days=1)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$new", f"!termin neu Vergabe | {start}"), NOW)
    bernd, clara = "@bernd:localhost", "@clara:localhost"
    after = NOW + timedelta(days=2)
    for n, person in enumerate((bernd, clara)):
        await dispatcher.handle(Incoming(ROOM, person, f"$r{n}", "!anmelden #1"), NOW)
        await dispatcher.handle(Incoming(dm(person), person, f"$a{n}", f"!feedback #1 {4 + n} Satz {n}"), after)
    await dispatcher.handle(Incoming(dm(bernd), bernd, "$d", "!meine-daten"), after)
    exported = json.loads(outbox.uploads[-1])
    assert exported["feedback"] == [{"session": "#1", "rating": 4, "text": "Satz 0"}]
    await dispatcher.handle(Incoming(dm(bernd), bernd, "$x", "!daten-löschen"), after)
    assert "Bewertungen" in outbox.bodies()[-1]
    await dispatcher.handle(Incoming(dm(bernd), bernd, "$x2", "!daten-löschen ja"), after)
    assert "Bewertungen: 1" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:
        left = (await s.exec(select(FeedbackAnswer))).all()
    assert [(r.rating, r.text) for r in left] == [(5, "Satz 1")]


async def test_the_question_is_planned_after_the_end_moves_with_it_and_goes_when_cancelled(bot):
    dispatcher, _ = bot
    day = (NOW + timedelta(days=3)).astimezone(dispatcher.config.timezone)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$new", f"!termin neu Vergabe | {day:%d.%m.%Y} 14–15 Uhr"), NOW)
    async with dispatcher.db.transaction() as s:
        row = await planned.planned_by_key(s, planned.feedback_key(1))
        session = await sessions.get_session(s, 1)
    assert row is not None and row.due_at == session.ends_at + timedelta(minutes=15)
    await dispatcher.handle(
        Incoming(ROOM, COORDINATOR, "$ch", f"!termin ändern #1 Wann: {day:%d.%m.%Y} 14–16:30 Uhr"), NOW
    )
    async with dispatcher.db.transaction() as s:
        row = await planned.planned_by_key(s, planned.feedback_key(1))
        session = await sessions.get_session(s, 1)
    assert row is not None and row.due_at == session.ends_at + timedelta(minutes=15)
    assert session.ends_at.astimezone(dispatcher.config.timezone).strftime("%H:%M") == "16:30"
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$x", "!termin absagen #1"), NOW)
    async with dispatcher.db.transaction() as s:
        row = await planned.planned_by_key(s, planned.feedback_key(1))
    assert row is not None and row.status == "skipped"
