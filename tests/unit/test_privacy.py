"""Privacy: the notice on a first registration, export, deletion, and the purge after the retention period."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, DateTime, Integer, LargeBinary, String, func
from sqlmodel import AutoString, SQLModel, select

from bot.dispatch import EventKind, Incoming
from services import privacy
from storage import board, export, inventory, purge, registrations, rows, sessions, topics
from storage.db import Database
from storage.models import (
    EnumText,
    OutboxMessage,
    OutboxStatus,
    PersonSettings,
    QaRound,
    Question,
    Registration,
    Session,
    TalkOffer,
    Topic,
    TopicStatus,
    TopicVote,
    UTCDateTime,
)
from storage.outbox import Outgoing, enqueue, sent_relating_to
from storage.rows import row_id
from tests.postgres import on_both_databases
from tests.unit.fakes import COORDINATOR, NOW

ROOM = "!room:localhost"
BERND = "@bernd:localhost"


def say(body: str, sender: str, event_id: str) -> Incoming:
    return Incoming(ROOM, sender, event_id, body, None)


async def setup_session(dispatcher, outbox, capacity: int = 1, days: int = 3) -> None:
    start = (NOW + timedelta(days=days)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(
        say(f"!termin neu Fördermittel | {start} | Plätze: {capacity}", COORDINATOR, f"$new{days}"), NOW
    )


async def test_privacy_notice_only_with_the_first_registration(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox, capacity=5)
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW)
    assert "Datenschutz" in outbox.bodies()[-1] and "90 Tage" in outbox.bodies()[-1]
    await dispatcher.handle(say("!abmelden #1", BERND, "$u1"), NOW)
    await dispatcher.handle(say("!anmelden #1", BERND, "$r2"), NOW)
    assert "angemeldet" in outbox.bodies()[-1] and "Datenschutz" not in outbox.bodies()[-1]


async def test_my_data_is_sent_privately_as_json(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox)
    await dispatcher.handle(say("!anmelden #1 Stadt Bielefeld", BERND, "$r1"), NOW)
    await dispatcher.handle(say("!erinnerung an", BERND, "$e1"), NOW)
    await dispatcher.handle(say("!meine-daten", BERND, "$d1"), NOW)
    room, file_event, _ = outbox.sent[-2]
    assert room == f"!dm-{BERND}" and file_event["info"]["mimetype"] == "application/json"
    assert "privat" in outbox.bodies()[-1]
    exported = json.loads(outbox.uploads[-1])
    assert exported["user_id"] == BERND
    assert exported["registrations"][0]["municipality"] == "Bielefeld"
    assert exported["settings"]["reminders_by_direct_message"] is True


async def test_deleting_asks_first_then_frees_the_place_and_anonymises(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox)
    await dispatcher.handle(say("!anmelden #1", COORDINATOR, "$r0"), NOW)  # the creator holds the place
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW)  # and Bernd waits
    await dispatcher.handle(say("!daten-löschen", COORDINATOR, "$x0"), NOW)
    assert "daten-löschen ja" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:
        assert (await registrations.registration(s, 1, COORDINATOR)) is not None
    await dispatcher.handle(say("!daten-löschen ja", COORDINATOR, "$x1"), NOW)
    assert "gelöscht" in outbox.bodies()[-1]
    assert any(
        BERND in c.get("m.mentions", {}).get("user_ids", []) and "Platz frei" in c["body"] for _, c, _ in outbox.sent
    )
    async with dispatcher.db.transaction() as s:
        data = await export.person_data(s, COORDINATOR)
        session = await sessions.get_session(s, 1)
        bernd = await registrations.registration(s, 1, BERND)
    assert data.registrations == [] and data.settings is None and data.sessions_created == []
    assert session.created_by == "(gelöscht)" and bernd.status == "registered"


async def test_personal_data_is_purged_after_the_retention_period(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox, days=1)
    await setup_session(dispatcher, outbox, days=60)
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW)
    await dispatcher.handle(say("!anmelden #2", BERND, "$r2"), NOW)
    async with dispatcher.db.transaction() as s:
        assert await purge.purge_ended(s, NOW + timedelta(days=30), "(gelöscht)") == 1  # #1 ended, #2 not yet
    async with dispatcher.db.transaction() as s:
        data = await export.person_data(s, BERND)
    assert [session.id for _, session in data.registrations] == [2]


async def test_deleting_redacts_the_persons_cards_and_the_edits_that_showed_their_text(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!raum brett", COORDINATOR, "$brett"), NOW)
    await dispatcher.handle(say("!kommune Verl", BERND, "$k1"), NOW)
    await dispatcher.handle(say("!biete Personal: Bauhof-Pool | Drei Leute im Winter", BERND, "$b1"), NOW)
    await dispatcher.handle(say("!eintrag A1 erledigt", BERND, "$e1"), NOW)
    async with dispatcher.db.transaction() as s:
        entry = await board.entry(s, 1)
        assert entry is not None and entry.card_event_id is not None
        edits = await sent_relating_to(s, ROOM, entry.card_event_id)
    assert len(edits) == 1  # the card showed "erledigt" once
    await dispatcher.handle(say("!daten-löschen ja", BERND, "$x1"), NOW)
    assert [(room, event) for room, event, _ in outbox.redactions] == [(ROOM, entry.card_event_id), (ROOM, edits[0])]
    assert all(reason and reason.startswith("A1: Dieser Eintrag wurde") for _, _, reason in outbox.redactions)
    last_edit = [c for room, c, _ in outbox.sent if room == ROOM and "m.new_content" in c][-1]
    assert last_edit["m.new_content"]["body"].startswith("A1: Dieser Eintrag wurde")


async def test_deleting_cancels_messages_not_sent_yet_that_name_the_person(bot):
    dispatcher, outbox = bot
    elsewhere = "!elsewhere:localhost"
    outbox.fail_with, outbox.failing_rooms = ConnectionError("homeserver away"), {elsewhere}
    kept_until = datetime.now(UTC) + timedelta(days=1)  # the deliverer keeps trying by the real clock
    async with dispatcher.db.transaction() as s:  # two posts waiting for a room the homeserver refuses now
        for key, body in [("naming", f"Frage von {BERND}: Wer fördert das?"), ("other", "Die Fragerunde beginnt.")]:
            content = {"msgtype": "m.text", "body": body, "m.mentions": {}}
            await enqueue(s, Outgoing(f"post:{key}", content, room_id=elsewhere), NOW, kept_until)
    await dispatcher.handle(say("!hilfe", COORDINATOR, "$h1"), NOW)  # the deliverer tries them (and will again)
    await dispatcher.handle(say("!daten-löschen ja", BERND, "$x1"), NOW)
    async with dispatcher.db.transaction() as s:
        waiting = (await s.exec(select(OutboxMessage).where(OutboxMessage.room_id == elsewhere))).all()
    assert [(row.key, row.status) for row in waiting] == [("post:other", OutboxStatus.PENDING)]


async def test_deleting_removes_the_persons_wishes_votes_and_talk_offers(bot):
    dispatcher, _ = bot
    await dispatcher.handle(say("!thema Kommunale Wärmeplanung", BERND, "$t1"), NOW)
    await dispatcher.handle(say("!thema Onlinezugangsgesetz", COORDINATOR, "$t2"), NOW)
    async with dispatcher.db.transaction() as s:
        wish = await topics.topic_by_number(s, 2)
    assert wish is not None and wish.event_id is not None
    await dispatcher.handle(
        Incoming(ROOM, BERND, "$v1", "", None, kind=EventKind.REACTION, key="👍", target=wish.event_id), NOW
    )
    await dispatcher.handle(say("!thema T2 referieren", BERND, "$o1"), NOW)
    async with dispatcher.db.transaction() as s:
        assert await topics.voters(s, 2) == [BERND]
    await dispatcher.handle(say("!daten-löschen ja", BERND, "$x1"), NOW)
    async with dispatcher.db.transaction() as s:
        proposers = [topic.proposed_by for topic in (await s.exec(select(Topic).order_by(Topic.id))).all()]
        votes = (await s.exec(select(TopicVote))).all()
        offers = (await s.exec(select(TalkOffer))).all()
    assert proposers == ["(gelöscht)", COORDINATOR] and votes == [] and offers == []


async def test_the_purge_forgets_who_proposed_voted_and_offered_on_a_wish_still_open(db):
    """A wish may stay open for ever; the names on it go after the retention period all the same,
    its votes count on without them."""
    cutoff = NOW - timedelta(days=90)
    old, recent = cutoff - timedelta(days=1), cutoff + timedelta(days=1)
    async with db.transaction() as s:
        for number, proposed in [(1, old), (2, recent)]:
            await rows.save(
                s,
                Topic(id=number, title=f"Wunsch {number}", room_id=ROOM, proposed_by=BERND, proposed_at=proposed),
            )
        for voter, voted, reaction in [
            (BERND, old, "$v1"),
            (COORDINATOR, old, "$v2"),
            ("@clara:localhost", recent, "$v3"),
        ]:
            await rows.save(s, TopicVote(topic_id=1, user_id=voter, reaction_event_id=reaction, voted_at=voted))
        await rows.save(s, TalkOffer(topic_id=1, user_id=BERND, offered_at=old))
        await rows.save(s, TalkOffer(topic_id=2, user_id=COORDINATOR, offered_at=recent))
    async with db.transaction() as s:
        await purge.purge_ended(s, cutoff)
        await purge.purge_ended(s, cutoff)  # a second purge changes nothing
        wishes = (await s.exec(select(Topic).order_by(Topic.id))).all()
        offers = (await s.exec(select(TalkOffer))).all()
        assert await topics.vote_count(s, 1) == 3 and await topics.voters(s, 1) == ["@clara:localhost"]
        assert [w.topic.id for w in await topics.open_topics(s, sessions.Scope([ROOM], None))] == [1, 2]
    assert [(w.proposed_by, w.status) for w in wishes] == [("(gelöscht)", TopicStatus.OPEN), (BERND, TopicStatus.OPEN)]
    assert [(o.topic_id, o.user_id) for o in offers] == [(2, COORDINATOR)]
    assert await traces(db, BERND) == ["topics.proposed_by"]  # the recent wish's proposer only


# --- The data-protection inventory -------------------------------------------------------------

# A column whose name says it holds a Matrix user id (who did it, whom it concerns).
USER_ID_NAME = re.compile(
    r"(^|_)(users?|user_ids?|authors?|senders?|mxids?|members?|owners?|persons?|people|invitees?|inviters?"
    r"|recipients?|mentions?)($|_)|_by$"
)
# Columns that hold user ids although their names do not say so.
USER_ID_COLUMNS = {
    ("outbox", "lane"),  # "dm:@person:server"
    ("outbox", "key"),  # may name the person
    ("outbox", "content"),  # the message: mentions, names
    ("planned_messages", "key"),  # a direct reminder's key ends in the person's id
    ("qa_rounds", "digest"),  # quotes askers and their questions
}
OLD = NOW - timedelta(days=400)
PERSON = "@inventory_person:localhost"


def columns_with_user_ids() -> set[tuple[str, str]]:
    found = {
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if USER_ID_NAME.search(column.name)
    }
    return found | USER_ID_COLUMNS


def test_every_column_with_a_user_id_is_in_the_inventory():
    missing = columns_with_user_ids() - set(inventory.PERSONAL_DATA)
    assert not missing, f"declare export, deletion and purge in storage.inventory.PERSONAL_DATA for {sorted(missing)}"


def test_the_inventory_names_real_columns_and_says_how_each_is_covered():
    tables = {table.name: table for table in SQLModel.metadata.sorted_tables}
    for (table, column), coverage in inventory.PERSONAL_DATA.items():
        assert table in tables and column in tables[table].columns, (table, column)
        assert coverage.export and coverage.delete and coverage.purge, (table, column)


def test_the_privacy_page_lists_the_inventory():
    page = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text()
    for table, column in inventory.PERSONAL_DATA:
        assert f"`{table}.{column}`" in page, f"docs/privacy.md inventory lacks {table}.{column}"


def seed_value(table: str, column: Column[Any], ids: dict[str, int], when: datetime) -> Any:
    """A value for `column` of a row that concerns PERSON in every way the schema allows."""
    if (table, column.name) in USER_ID_COLUMNS:
        return json.dumps({"body": f"Hallo {PERSON}", "m.mentions": {"user_ids": [PERSON]}})
    if USER_ID_NAME.search(column.name):
        return PERSON
    if column.foreign_keys:
        return ids[next(iter(column.foreign_keys)).column.table.name]
    kind = column.type
    if isinstance(kind, UTCDateTime | DateTime):
        return when
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, LargeBinary):
        return b"x"
    if isinstance(kind, EnumText):
        return list(kind.enum)[-1]  # a final state, as the seeded "x" was no live one
    return "x"


async def seed_everything(db: Database, when: datetime, overrides: dict[tuple[str, str], Any] | None = None) -> None:
    """One row in every table (in the order of their foreign keys), PERSON in every column that
    may hold a user id, every time `when`."""
    overrides = overrides or {}
    ids: dict[str, int] = {}
    async with db.engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            row = {
                c.name: overrides.get((table.name, c.name), seed_value(table.name, c, ids, when)) for c in table.columns
            }
            await conn.execute(table.insert().values(**row))
            if "id" in table.columns:
                ids[table.name] = row["id"]


async def traces(db: Database, user_id: str) -> list[str]:
    """Every table.column where `user_id` still appears."""
    found = []
    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | AutoString):
                    query = select(func.count()).select_from(table).where(column.contains(user_id))
                    if (await conn.execute(query)).scalar():
                        found.append(f"{table.name}.{column.name}")
    return found


@pytest.fixture
async def db(migrated_url):
    database = Database(migrated_url)
    yield database
    await database.close()


@on_both_databases
async def test_deleting_leaves_no_trace_of_the_person_in_any_table(db):
    await seed_everything(db, NOW)
    assert set(await traces(db, PERSON)) >= {f"{t}.{c}" for t, c in columns_with_user_ids()}
    async with db.transaction() as s:
        assert await purge.forget_person(s, PERSON, key_of=lambda _: "x") == 1  # the seeded answer's hash
    assert await traces(db, PERSON) == []


@on_both_databases
async def test_the_purge_leaves_no_trace_of_people_of_sessions_past_retention(db):
    await seed_everything(db, OLD)
    async with db.transaction() as s:
        await purge.purge_ended(s, NOW - timedelta(days=90))
    assert await traces(db, PERSON) == []


async def test_the_export_has_a_section_for_every_inventory_entry(db):
    await seed_everything(db, NOW, {("outbox", "status"): "pending", ("sessions", "title"): "Fördermittel"})
    async with db.transaction() as s:
        data = await export.person_data(s, PERSON, key_of=lambda _: "x")  # the seeded answer's hash
    document = json.loads(privacy.export(PERSON, data, NOW))
    for (table, column), coverage in inventory.PERSONAL_DATA.items():
        section = coverage.export.split()[0]
        assert document[section], f"{table}.{column}: the export's {section!r} is empty"
    assert document["pending_messages"][0]["text"] == f"Hallo {PERSON}"
    assert document["votes"][0]["question"] == 1 and document["rounds_opened"][0]["session"] == "#1"


async def test_the_purge_keeps_settings_while_the_person_is_active(db):
    async with db.transaction() as s:
        start = NOW - timedelta(days=200)
        old = await rows.save(
            s, Session(title="alt", starts_at=start, ends_at=start, room_id="!r:x", created_by="@a:x", created_at=start)
        )
        new = await rows.save(
            s, Session(title="neu", starts_at=NOW, ends_at=NOW, room_id="!r:x", created_by="@a:x", created_at=start)
        )
        for user_id, session, changed in [
            ("@gone:x", old, start),  # only an old registration, settings unchanged since
            ("@active:x", new, start),  # still registered for a recent session
            ("@recent:x", old, NOW - timedelta(days=10)),  # changed their settings lately
        ]:
            await rows.save(s, PersonSettings(user_id=user_id, dm_reminders=True, updated_at=changed))
            await rows.save(
                s,
                Registration(
                    session_id=row_id(session), user_id=user_id, status="registered", queued_at=start, updated_at=start
                ),
            )
        await rows.save(s, PersonSettings(user_id="@noticed:x", privacy_notice_at=NOW, updated_at=start))
    async with db.transaction() as s:
        await purge.purge_ended(s, NOW - timedelta(days=90))
        left = {p.user_id for p in (await s.exec(select(PersonSettings))).all()}
    assert left == {"@active:x", "@recent:x", "@noticed:x"}


async def test_my_data_lists_votes_and_rounds_one_opened(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox, days=1)
    during = NOW + timedelta(days=1, minutes=10)
    await dispatcher.handle(say("!frage #1 Wie läuft die Förderung?", BERND, "$q1"), NOW)
    await dispatcher.handle(say("!fragerunde start #1", COORDINATOR, "$qa"), during)
    async with dispatcher.db.transaction() as s:
        question = (await s.exec(select(Question))).one()
    await dispatcher.handle(
        Incoming(ROOM, COORDINATOR, "$v1", "", None, kind=EventKind.REACTION, key="👍", target=question.event_id),
        during,
    )
    await dispatcher.handle(say("!meine-daten", COORDINATOR, "$d1"), during)
    exported = json.loads(outbox.uploads[-1])
    assert exported["votes"] == [{"session": "#1", "question": 1, "voted_at": during.isoformat()}]
    assert exported["rounds_opened"][0]["session"] == "#1"
    await dispatcher.handle(say("!fragerunde ende #1", COORDINATOR, "$end"), during)
    await dispatcher.handle(say("!daten-löschen ja", BERND, "$x1"), during)
    async with dispatcher.db.transaction() as s:
        round_ = (await s.exec(select(QaRound))).one()
        question = (await s.exec(select(Question))).one()
    assert round_.digest is None and question.author == question.text == "(gelöscht)"


# --- Anonymity ----------------------------------------------------------------------------------


async def test_an_anonymous_askers_own_vote_counts_so_the_count_matches_what_everyone_sees(bot):
    dispatcher, outbox = bot
    await setup_session(dispatcher, outbox, days=1)
    during = NOW + timedelta(days=1, minutes=10)
    dm = f"!dm-{BERND}"
    await dispatcher.handle(Incoming(dm, BERND, "$q1", "!frage anonym #1 Was kostet das?"), NOW)
    await dispatcher.handle(say("!frage #1 Wer fördert das?", COORDINATOR, "$q2"), NOW)
    await dispatcher.handle(say("!fragerunde start #1", COORDINATOR, "$qa"), during)
    async with dispatcher.db.transaction() as s:
        anonymous, named = (await s.exec(select(Question).order_by(Question.number))).all()
    # 👍 under the anonymous question: the asker's own and one other; under the named one: its asker's own.
    for who, question, event in [
        (BERND, anonymous, "$v1"),
        (COORDINATOR, anonymous, "$v2"),
        (COORDINATOR, named, "$v3"),
    ]:
        await dispatcher.handle(
            Incoming(ROOM, who, event, kind=EventKind.REACTION, key="👍", target=question.event_id), during
        )
    await dispatcher.handle(say("!fragen #1", COORDINATOR, "$list"), during)
    ranking = outbox.bodies()[-1]
    assert "Nr. 1 · 2 👍 · Was kostet das? – anonym" in ranking and "Nr. 2 · 1 👍" in ranking
    await dispatcher.handle(say("!fragerunde ende #1", COORDINATOR, "$end"), during)
    shown = "\n".join([*outbox.bodies(), *(u.decode() for u in outbox.uploads)])
    assert BERND not in shown and "bernd" not in shown.lower()
