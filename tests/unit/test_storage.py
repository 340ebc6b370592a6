"""Storage on a real SQLite file and a real PostgreSQL database: migrations from empty,
constraints, UTC round trips, queries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, make_url, text
from sqlalchemy.exc import IntegrityError

from storage import registrations, rows, sessions, state
from storage.db import Database
from storage.models import Registration, Session
from tests.postgres import on_both_databases

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


@pytest.fixture
async def db(migrated_url):
    database = Database(migrated_url)
    yield database
    await database.close()


def new_session(title: str, days: int, capacity: int | None = None) -> Session:
    start = NOW + timedelta(days=days)
    return Session(
        title=title,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity=capacity,
        room_id="!r:localhost",
        created_by="@anna:localhost",
        created_at=NOW,
    )


@on_both_databases
async def test_migrations_create_schema(db):
    async with db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert {"sessions", "registrations", "bot_state", "handled_events", "planned_messages", "alembic_version"} <= tables
    await db.migrate()  # idempotent
    await db.ping()


async def test_sqlite_file_in_a_new_folder_with_wal_and_foreign_keys(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'regiobot.db'}")
    await db.migrate()
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await db.close()


@on_both_databases
async def test_times_round_trip_as_aware_utc(db):
    berlin = datetime(2027, 3, 29, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    async with db.transaction() as s:
        session = await rows.save(
            s,
            Session(
                title="DST",
                starts_at=berlin,
                ends_at=berlin + timedelta(hours=1),
                room_id="!r:l",
                created_by="@a:l",
                created_at=NOW,
            ),
        )
    async with db.transaction() as s:
        loaded = await sessions.get_session(s, session.id)
    assert loaded.starts_at == berlin and loaded.starts_at.tzinfo == UTC
    assert loaded.starts_at.hour == 8


@on_both_databases
async def test_one_registration_per_session_and_person(db):
    async with db.transaction() as s:
        session = await rows.save(s, new_session("A", 3))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            for _ in range(2):
                await rows.save(
                    s,
                    Registration(
                        session_id=session.id, user_id="@b:l", status="registered", queued_at=NOW, updated_at=NOW
                    ),
                )


@on_both_databases
async def test_registration_needs_an_existing_session(db):
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            await rows.save(
                s, Registration(session_id=999, user_id="@b:l", status="registered", queued_at=NOW, updated_at=NOW)
            )


@on_both_databases
async def test_lists_counts_and_waiting_positions(db):
    async with db.transaction() as s:
        soon = await rows.save(s, new_session("Bald", 2, capacity=1))
        later = await rows.save(s, new_session("Später", 9))
        await rows.save(s, new_session("Vorbei", -2))
        for i, (user, status) in enumerate(
            [("@a:l", "registered"), ("@b:l", "waitlisted"), ("@c:l", "waitlisted"), ("@d:l", "cancelled")]
        ):
            await rows.save(
                s,
                Registration(
                    session_id=soon.id,
                    user_id=user,
                    status=status,
                    queued_at=NOW + timedelta(minutes=i),
                    updated_at=NOW,
                ),
            )
        await rows.save(
            s, Registration(session_id=later.id, user_id="@c:l", status="registered", queued_at=NOW, updated_at=NOW)
        )
    async with db.transaction() as s:
        upcoming = await sessions.upcoming_sessions(s, NOW)
        mine = await registrations.my_registrations(s, "@c:l", NOW)
        token = await state.get_state(s, "next_batch")
    assert [(u.session.title, u.registered, u.waitlisted) for u in upcoming] == [("Bald", 1, 2), ("Später", 1, 0)]
    assert [(m.session.title, m.status, m.position) for m in mine] == [
        ("Bald", "waitlisted", 2),
        ("Später", "registered", None),
    ]
    assert token is None


@on_both_databases
async def test_handled_events_and_state(db):
    async with db.transaction() as s:
        await state.mark_handled(s, [("$a", "!r:l")], NOW)
        await state.set_state(s, "next_batch", "s1")
        await state.set_state(s, "next_batch", "s2")
    async with db.transaction() as s:
        assert await state.handled(s, ["$a", "$b"]) == {"$a"}
        assert await state.get_state(s, "next_batch") == "s2"


@on_both_databases
async def test_migrations_match_the_models(db):
    """Alembic's autogenerate finds nothing to add: the migrations build exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from storage.board_search import is_search_index

    def differences(connection):
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda name, *_: not is_search_index(name)}
        )
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(differences)
    assert diff == []


@on_both_databases
async def test_migrations_downgrade_to_empty_and_up_again(database_url):
    from alembic import command

    from storage.db import alembic_config

    database = Database(database_url)
    await database.migrate()
    await database.close()
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "base")
    database = Database(database_url)
    async with database.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    await database.close()
    assert tables <= {"alembic_version"}
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")


async def test_postgresql_password_from_the_environment(postgres_cluster, monkeypatch, tmp_path):
    """The password may stay out of the config file: asyncpg takes PGPASSWORD (or ~/.pgpass)."""
    url = make_url(await postgres_cluster.create_database())._replace(password=None).render_as_string()
    assert postgres_cluster.password not in url
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    without = Database(url)
    with pytest.raises(Exception, match="password"):
        await without.ping()
    await without.close()
    monkeypatch.setenv("PGPASSWORD", postgres_cluster.password)
    database = Database(url)
    await database.migrate()
    await database.ping()
    await database.close()
