"""`regiobot copy-database`: everything moves from SQLite to PostgreSQL, and the bot goes on there."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import SQLModel, select

from bot.cli import main
from bot.dispatch import Incoming
from storage import state
from storage.db import Database
from storage.models import Registration, Session
from storage.rows import save
from tests.unit.fakes import configured, dispatcher_for

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
COORDINATOR = "@anna:localhost"


async def fill(tmp_path: Path, url: str) -> str:
    """The SQLite database at `url` (migrated) with a bit of everything, made by commands; returns
    its URL."""
    config, db = await configured(tmp_path, COORDINATOR, url)
    dispatcher = dispatcher_for(config, db)
    start = (NOW + timedelta(days=20)).astimezone().strftime("%d.%m.%Y %H:%M")
    commands = [
        (COORDINATOR, f"!termin neu Wärmeplanung | {start} | Plätze: 1"),
        (COORDINATOR, f"!termin neu Vergaberecht | {start}"),
        ("@bernd:localhost", "!anmelden #1 Stadt Bielefeld"),
        ("@clara:localhost", "!anmelden #1"),
        ("@clara:localhost", "!erinnerung an"),
        (COORDINATOR, "!material #1 https://example.org/f.pdf Folien"),
    ]
    for number, (sender, body) in enumerate(commands):
        await dispatcher.handle(Incoming("!room:localhost", sender, f"$c{number}", body, None), NOW)
        async with db.transaction() as s:
            await state.mark_handled(s, [(f"$c{number}", "!room:localhost")], NOW)
    async with db.transaction() as s:
        await state.set_state(s, "next_batch", "s42_1")
    await db.close()
    return config.storage_url


async def contents(url: str) -> dict[str, list[dict]]:
    database = Database(url)
    async with database.engine.connect() as conn:
        tables = {}
        for table in SQLModel.metadata.sorted_tables:
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [dict(row) for row in rows.mappings()]
    await database.close()
    return tables


async def add_more(url: str) -> tuple[int | None, int | None]:
    """A new session and registration on the copy: the ids they get."""
    database = Database(url)
    async with database.transaction() as s:
        session = await save(
            s, Session(title="Neu", starts_at=NOW, ends_at=NOW, room_id="!r:l", created_by=COORDINATOR, created_at=NOW)
        )
        registration = Registration(
            session_id=session.id, user_id="@dora:localhost", status="registered", queued_at=NOW, updated_at=NOW
        )
        await save(s, registration)
    await database.close()
    return session.id, registration.id


def test_copy_from_sqlite_to_postgresql(tmp_path, postgres_cluster, migrated_url, capsys):
    source = asyncio.run(fill(tmp_path, migrated_url))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@bot:localhost"\npassword = "x"\n'
        f'[storage]\nurl = "{source}"\n'
    )
    target = asyncio.run(postgres_cluster.create_database())

    assert main(["copy-database", "--config", str(config), "--to", target]) == 0
    out = capsys.readouterr().out
    assert "sessions 2" in out and "registrations 2" in out and "Kopiert" in out and "copied" in out
    before, after = asyncio.run(contents(source)), asyncio.run(contents(target))
    assert after == before
    assert len(after["planned_messages"]) > 0 and after["bot_state"] == [{"key": "next_batch", "value": "s42_1"}]
    assert after["sessions"][0]["starts_at"].tzinfo == UTC

    # The ids go on after the copied ones.
    assert asyncio.run(add_more(target)) == (3, 3)

    assert main(["copy-database", "--config", str(config), "--to", target]) == 2
    assert "enthält schon Daten" in capsys.readouterr().err
    assert main(["copy-database", "--config", str(config), "--to", "postgresql://regiobot@localhost/x"]) == 2
    assert "--to" in capsys.readouterr().err


def test_unreachable_target_is_said_in_one_line(tmp_path, capsys):
    from bot.devserver import free_port

    config = tmp_path / "config.toml"
    config.write_text('[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@bot:localhost"\npassword = "x"\n')
    closed = f"postgresql+asyncpg://regiobot@127.0.0.1:{free_port()}/regiobot"
    assert main(["copy-database", "--config", str(config), "--to", closed]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Kopieren fehlgeschlagen, nichts kopiert:") and "Traceback" not in err
