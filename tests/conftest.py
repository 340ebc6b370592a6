"""Fixtures of both tiers: the database a test runs on (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresCluster, unavailable


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


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in `tmp_path`, or a new PostgreSQL database when the test
    is parametrised with `tests.postgres.on_both_databases`."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'regiobot.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return await cluster.create_database()
