"""Unit-test fixtures: a dispatcher with every command on a real database, sending into a fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import ROUTERS
from bot.routing import Router
from storage.db import Database
from tests.unit.fakes import COORDINATOR, configured, dispatcher_for

broken = Router("broken")


@broken.command("kaputt", aliases=("broken",), help="help.help")
async def explode(ctx):
    raise RuntimeError("secret internal detail /srv/db")


@pytest.fixture
async def migrated(migrated_url: str):
    """A database with every migration applied (SQLite, or PostgreSQL where the test is
    parametrised with `tests.postgres.on_both_databases`)."""
    database = Database(migrated_url)
    yield database
    await database.close()


@pytest.fixture
async def bot(tmp_path: Path, migrated_url: str):
    """(dispatcher, outbox): all the bot's commands plus !kaputt, which always fails."""
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    dispatcher = dispatcher_for(config, db, [*ROUTERS, broken])
    yield dispatcher, dispatcher.outbox
    await db.close()
