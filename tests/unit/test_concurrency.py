"""Commands that decide on places at the same moment take turns, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from bot.dispatch import Dispatcher, Incoming
from storage import registrations, sessions
from storage.models import RegistrationStatus
from tests.postgres import on_both_databases
from tests.unit.fakes import configured, dispatcher_for

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
COORDINATOR = "@anna:localhost"


@pytest.fixture
async def dispatcher(tmp_path: Path, migrated_url: str):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    # Connections ready in the pool, as in a bot that has been running: concurrent commands then
    # overlap from their first query (a fresh connection would take long enough to serialise them).
    await asyncio.gather(*(db.ping() for _ in range(4)))
    yield dispatcher_for(config, db)
    await db.close()


async def command(dispatcher: Dispatcher, body: str, sender: str, event_id: str) -> str:
    await dispatcher.handle(Incoming("!room:localhost", sender, event_id, body, None), NOW)
    return next(
        c["body"]
        for _, c, _ in reversed(dispatcher.outbox.sent)
        if c.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == event_id
    )


async def statuses(dispatcher: Dispatcher, session_id: int) -> dict[str, str]:
    async with dispatcher.db.transaction() as s:
        return {r.user_id: r.status for r in await registrations.active_registrations(s, session_id)}


async def create_session(dispatcher: Dispatcher, capacity: int) -> None:
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    answer = await command(dispatcher, f"!termin neu Fördermittel | {start} | Plätze: {capacity}", COORDINATOR, "$new")
    assert "#1" in answer


@on_both_databases
async def test_two_registrations_for_the_last_place_give_one_place_and_one_waiting(dispatcher):
    await create_session(dispatcher, capacity=2)
    assert "angemeldet" in await command(dispatcher, "!anmelden #1", "@first:localhost", "$first")

    answers = await asyncio.gather(
        command(dispatcher, "!anmelden #1", "@bernd:localhost", "$bernd"),
        command(dispatcher, "!anmelden #1", "@clara:localhost", "$clara"),
    )

    assert sum("Sie sind angemeldet" in a for a in answers) == 1
    assert sum("Warteliste an Platz 1" in a for a in answers) == 1
    placed = await statuses(dispatcher, 1)
    assert sorted(placed.values()) == [
        RegistrationStatus.REGISTERED,
        RegistrationStatus.REGISTERED,
        RegistrationStatus.WAITLISTED,
    ]


@on_both_databases
async def test_a_place_freed_while_others_register_goes_to_exactly_one(dispatcher):
    await create_session(dispatcher, capacity=1)
    await command(dispatcher, "!anmelden #1", "@first:localhost", "$first")
    await command(dispatcher, "!anmelden #1", "@second:localhost", "$second")

    await asyncio.gather(
        command(dispatcher, "!abmelden #1", "@first:localhost", "$leave"),
        command(dispatcher, "!anmelden #1", "@third:localhost", "$third"),
        command(dispatcher, "!termin ändern #1 Plätze: 2", COORDINATOR, "$more"),
    )

    assert await statuses(dispatcher, 1) == {
        "@second:localhost": RegistrationStatus.REGISTERED,
        "@third:localhost": RegistrationStatus.REGISTERED,
    }


@on_both_databases
async def test_taking_turns_on_a_session_costs_sqlite_no_query_and_locks_the_row_on_postgresql(dispatcher):
    await create_session(dispatcher, capacity=2)
    issued: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        issued.append(statement)

    engine = dispatcher.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        async with dispatcher.db.transaction() as s:
            issued.clear()
            await sessions.lock_session(s, 1)
    finally:
        event.remove(engine, "before_cursor_execute", note)

    if dispatcher.db.sqlite_file is not None:  # the write lock, held since BEGIN IMMEDIATE, is the turn
        assert issued == []
    else:
        assert len(issued) == 1 and "FOR UPDATE" in issued[0]
