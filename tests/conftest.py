"""Fixtures of both tiers: the database a test runs on (SQLite, or PostgreSQL when asked), empty or
migrated. A migrated one is a copy of a template that the migrations built once per test process
(per worker under pytest-xdist): SQLite's file copied, PostgreSQL's `CREATE DATABASE … TEMPLATE`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.postgres import PostgresCluster, unavailable

SQLITE_FILE = "regiobot.db"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster per test run; skipped where there is no server
    (a failure instead when REGIOBOT_REQUIRE_POSTGRES is set, as in CI)."""
    reason = unavailable()
    if reason:
        if os.environ.get("REGIOBOT_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required here: {reason}")
        pytest.skip(f"PostgreSQL variant skipped: {reason}")
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


async def _migrate(url: str) -> None:
    database = Database(url)
    await database.migrate()
    await database.close()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, to be copied (never opened by a test)."""
    path = tmp_path_factory.mktemp("template") / SQLITE_FILE
    await _migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
async def postgresql_template(postgres_cluster: PostgresCluster) -> str:
    """The name of a PostgreSQL database with every migration applied, to be copied."""
    url = await postgres_cluster.create_database()
    await _migrate(url)
    return url.rsplit("/", 1)[1]


@pytest.fixture
def database_kind(request: pytest.FixtureRequest) -> str:
    """ "sqlite", or the kind `tests.postgres.on_both_databases` gives the test."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, database_kind: str, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in `tmp_path`, or a new PostgreSQL database."""
    if database_kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / SQLITE_FILE}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return await cluster.create_database()


@pytest.fixture
def template(request: pytest.FixtureRequest, database_kind: str) -> str:
    """The template of the test's kind of database, built on first use: the SQLite file's path or
    the PostgreSQL database's name. (A synchronous fixture: pytest-asyncio cannot set up an async
    fixture from inside another one, whose event loop is running.)"""
    return str(request.getfixturevalue(f"{database_kind}_template"))


@pytest.fixture
async def migrated_url(request: pytest.FixtureRequest, database_kind: str, template: str, tmp_path: Path) -> str:
    """A fresh database with every migration applied: SQLite in `tmp_path`, or a new PostgreSQL
    database; each a copy of the template."""
    if database_kind == "sqlite":
        path = tmp_path / SQLITE_FILE
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return await cluster.create_database(template=template)
