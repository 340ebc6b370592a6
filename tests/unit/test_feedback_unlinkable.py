"""Feedback that nobody can tie to a person, from a copy of the database or by comparing what the
bot shows: after three people answered (by reply, by digit reaction and by command), no table
holds an ordered id, a time near an answer, or the answers' events; and the published totals
change only in steps, never by a single answer."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from bot.dispatch import EventKind, Incoming
from rules.states import PlannedStatus
from storage import feedback, planned, sessions
from storage.db import Database, alembic_config
from storage.models import FeedbackAnswer
from storage.rows import save
from tests.postgres import on_both_databases
from tests.unit import fakes
from tests.unit.fakes import COORDINATOR, NOW, configured, dispatcher_for

ROOM = "!room:localhost"
BERND, CLARA, DORA, ERIK, FRIDA, GUSTAV = (
    f"@{name}:localhost" for name in ("bernd", "clara", "dora", "erik", "frida", "gustav")
)
PEOPLE = (BERND, CLARA, DORA, ERIK, FRIDA, GUSTAV)
ASKED = NOW + timedelta(days=2)  # when the questions went out
ANSWERED = ASKED + timedelta(hours=3)  # the first answer; the others follow minutes apart
NEAR = timedelta(minutes=10)


def dm(person: str) -> str:
    return f"!dm-{person}"


def question(person: str) -> str:
    return f"$question-{person}"


class Feedback:
    """A session everybody registered for, the questions sent, and answers given at known times."""

    def __init__(self, dispatcher: fakes.TestDispatcher, labels: list[str]) -> None:
        self.dispatcher, self.labels = dispatcher, labels
        self.answered: dict[str, datetime] = {}  # answer event → when

    async def setup(self) -> None:
        start = (NOW + timedelta(days=1)).astimezone().strftime("%d.%m.%Y %H:%M")
        await self.dispatcher.handle(Incoming(ROOM, COORDINATOR, "$new", f"!termin neu Vergabe | {start}"), NOW)
        for person in PEOPLE:
            await self.dispatcher.handle(Incoming(ROOM, person, f"$register-{person}", "!anmelden #1"), NOW)
        async with self.dispatcher.db.transaction() as s:
            session = await sessions.get_session(s, 1)
            await planned.plan_feedback_questions(s, session, list(PEOPLE), ASKED)
            for row in await planned.pending(s, session_id=1):
                if row.user_id:  # sent: the event people reply to or react on
                    row.status, row.sent_event_id, row.sent_at = PlannedStatus.SENT, question(row.user_id), ASKED
                    s.add(row)

    async def answer(self, incoming: Incoming) -> None:
        when = ANSWERED + timedelta(minutes=7 * len(self.answered))
        self.answered[incoming.event_id] = when
        before = len(self.dispatcher.outbox.sent)
        await self.dispatcher.handle(incoming, when)
        assert "gespeichert" in self.dispatcher.outbox.bodies()[-1], self.dispatcher.outbox.bodies()[before:]

    async def by_reply(self, person: str, text: str) -> None:
        await self.answer(
            Incoming(dm(person), person, f"$reply-{person}-{len(self.answered)}", text, reply_to=question(person))
        )

    async def by_digit(self, person: str, rating: int) -> None:
        key = f"{rating}\ufe0f\u20e3"
        event = f"$digit-{person}-{len(self.answered)}"
        await self.answer(
            Incoming(dm(person), person, event, kind=EventKind.REACTION, key=key, target=question(person))
        )

    async def by_command(self, person: str, text: str) -> None:
        await self.answer(
            Incoming(dm(person), person, f"$command-{person}-{len(self.answered)}", f"!feedback #1 {text}")
        )

    async def evaluation(self) -> str:
        """What `!auswertung #1` sends the coordinator."""
        moment = max(self.answered.values(), default=ANSWERED) + timedelta(hours=1)
        await self.dispatcher.handle(
            Incoming(ROOM, COORDINATOR, f"$evaluate-{len(self.labels)}", "!auswertung #1"), moment
        )
        return [c["body"] for room, c, _ in self.dispatcher.outbox.sent if room == dm(COORDINATOR)][-1]

    async def totals(self) -> object:
        """What the web page and the protocol post show."""
        async with self.dispatcher.db.transaction() as s:
            return await feedback.feedback_totals(s, 1)


@pytest.fixture
async def answers(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    labels: list[str] = []
    dispatcher = dispatcher_for(config, db, observe=lambda label, *_: labels.append(label))
    given = Feedback(dispatcher, labels)
    await given.setup()
    yield given
    await db.close()


def database_copy(source: Path, target: Path) -> sqlite3.Connection:
    """A copy of the database file, as someone who took a backup would have it."""
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)
    copy = sqlite3.connect(target)
    copy.row_factory = sqlite3.Row
    return copy


def moments(value: object) -> list[datetime]:
    """The time in a column's value, if it is one (SQLite stores times as text)."""
    if not isinstance(value, str) or len(value) < 19:
        return []
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return []
    return [parsed if parsed.tzinfo else parsed.replace(tzinfo=NOW.tzinfo)]


async def test_a_copy_of_the_database_ties_no_rating_to_a_person(answers, tmp_path):
    await answers.by_reply(BERND, "4 Die Vorlage aus Gütersloh hilft")
    await answers.by_digit(CLARA, 5)
    await answers.by_command(DORA, "2 zu lang")
    thanked = sorted(room for room, c, _ in answers.dispatcher.outbox.sent if "Danke! Ihre Rückmeldung" in c["body"])
    assert thanked == sorted(dm(p) for p in (BERND, CLARA, DORA))
    assert "reaction feedback_rating" in answers.labels and not any(c.isdigit() for c in "".join(answers.labels))

    source = answers.dispatcher.db.sqlite_file
    assert source is not None
    copy = database_copy(source, tmp_path / "copy.sqlite3")
    tables = [row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows = {table: [dict(row) for row in copy.execute(f'SELECT * FROM "{table}"')] for table in tables}

    # No event of an answer is kept (its room and time would name the person).
    kept = {value for table in tables for row in rows[table] for value in row.values()}
    assert not kept & set(answers.answered)
    # No time near an answer, in any column of any table: the thank-yous are gone once sent.
    for table in tables:
        for row in rows[table]:
            for column, value in row.items():
                for moment in moments(value):
                    near = [t for t in answers.answered.values() if abs(moment - t) < NEAR]
                    assert not near, f"{table}.{column} holds {value}, near an answer"
    # The answers: no order of answering in their ids (nor in SQLite's hidden row number), no
    # time, no person; the hash cannot be recomputed without the bot's secret.
    stored = [dict(row) for row in copy.execute("SELECT rowid AS row_number, * FROM feedback_answers")]
    assert sorted(row["rating"] for row in stored) == [2, 4, 5]
    assert all(row["row_number"] == row["id"] for row in stored)
    ids = sorted(row["id"] for row in stored)
    assert ids[0] > 2**31 or ids[-1] - ids[0] > 10**6  # not 1, 2, 3 (chance of failing: about 10**-12)
    assert set(stored[0]) == {"row_number", "id", "session_id", "respondent", "rating", "text", "published"}
    unkeyed = {hashlib.sha256(f"{n}\n{p}".encode()).hexdigest() for p in PEOPLE for n in (1, 0)}
    unkeyed |= {hashlib.sha256(p.encode()).hexdigest() for p in PEOPLE}
    assert not unkeyed & {row["respondent"] for row in stored}
    text = " ".join(str(v) for row in stored for v in row.values())
    assert not any(p in text or p.split(":")[0][1:] in text for p in PEOPLE)
    assert not [row for row in rows["outbox"] if row["records"] == "forget"]
    copy.close()


async def test_the_totals_change_only_in_steps_of_three_answers(answers):
    await answers.by_reply(BERND, "4 Die Vorlage aus Gütersloh hilft")
    await answers.by_digit(CLARA, 5)
    assert await answers.totals() is None  # fewer than three
    await answers.by_command(DORA, "2 zu lang")
    first = await answers.totals()
    assert first is not None and first.count == 3 and first.distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    shown = await answers.evaluation()
    assert "Ø 3,7 von 5 (3 Antworten" in shown and "zu lang" in shown and "Noch nicht" not in shown

    await answers.by_command(ERIK, "3 Sehr konkret")  # one new answer …
    assert await answers.totals() == first
    shown = await answers.evaluation()
    assert "Ø 3,7 von 5 (3 Antworten" in shown and "Sehr konkret" not in shown
    assert "Noch nicht eingerechnet: 1 neue oder geänderte Antwort" in shown
    await answers.by_command(DORA, "1 viel zu lang")  # … one changed …
    assert await answers.totals() == first
    shown = await answers.evaluation()
    assert "zu lang" not in shown and "Noch nicht eingerechnet: 2" in shown  # a changed sentence waits too
    await answers.by_digit(BERND, 4)  # the same rating again changes nothing
    assert await answers.totals() == first

    await answers.by_reply(FRIDA, "1")  # … and a third: the next step
    second = await answers.totals()
    assert second is not None and second.count == 5 and second.distribution == {1: 2, 2: 0, 3: 1, 4: 1, 5: 1}
    shown = await answers.evaluation()
    assert "Sehr konkret" in shown and "viel zu lang" in shown and "Noch nicht" not in shown
    await answers.by_digit(GUSTAV, 5)
    assert await answers.totals() == second


SESSION_ROW = (
    "INSERT INTO sessions (id, title, starts_at, ends_at, room_id, status, sequence, created_by, created_at) "
    "VALUES (1, 'Vergabe', :now, :now, '!r:l', 'scheduled', 0, '@a:l', :now)"
)


@on_both_databases
async def test_the_migration_gives_earlier_answers_random_ids_and_takes_them_back(database_url):
    config = alembic_config(database_url)
    await asyncio.to_thread(command.upgrade, config, "0014")
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.execute(text(SESSION_ROW), {"now": NOW.replace(tzinfo=None)})
        for rating in (4, 5, 2):  # ids 1, 2, 3 in the order of answering
            await conn.execute(
                text(f"INSERT INTO feedback_answers (session_id, respondent, rating) VALUES (1, 'h{rating}', {rating})")
            )
    await database.close()

    await asyncio.to_thread(command.upgrade, config, "head")
    database = Database(database_url)
    async with database.transaction() as s:
        await save(s, FeedbackAnswer(session_id=1, respondent="h3", rating=3))  # a new one: random too
        rows = await feedback.answers(s, 1)
    await database.close()
    assert sorted((row.respondent, row.rating, row.published) for row in rows) == [
        ("h2", 2, False),
        ("h3", 3, False),
        ("h4", 4, False),
        ("h5", 5, False),
    ]
    assert all(row.id > 3 for row in rows) and len({row.id for row in rows}) == 4

    await asyncio.to_thread(command.downgrade, config, "0014")
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.execute(text("INSERT INTO feedback_answers (session_id, respondent, rating) VALUES (1, 'h1', 1)"))
        ids = sorted((await conn.execute(text("SELECT id FROM feedback_answers"))).scalars())
    await database.close()
    assert ids == [1, 2, 3, 4, 5]  # counted again, the next one after them
