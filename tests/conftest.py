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


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster per test run (per worker under pytest-xdist); skipped where
    there is no server (a failure instead when REGIOBOT_REQUIRE_POSTGRES is set, as in CI)."""
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
    path = tmp_path_factory.mktemp("template") / "template.db"
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
    """The kind of database the test runs on: SQLite, or what `tests.postgres.on_both_databases`
    (or another parametrisation of `database_kind`) gives it."""
    return str(getattr(request, "param", "sqlite"))


def _kind_not_url(request: pytest.FixtureRequest) -> None:
    """A parameter given to a database URL fixture would be ignored (the test quietly on SQLite)."""
    if hasattr(request, "param"):
        pytest.fail(f"parametrise database_kind (as tests.postgres.on_both_databases does), not {request.fixturename}")


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, database_kind: str, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in `tmp_path`, or a new PostgreSQL database."""
    _kind_not_url(request)
    if database_kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'regiobot.db'}"
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
    _kind_not_url(request)
    if database_kind == "sqlite":
        path = tmp_path / "migrated.db"  # not database_url's file: a test may ask for both
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return await cluster.create_database(template=template)
