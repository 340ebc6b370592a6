"""Who may act: one instance per SQLite file (OS lock), the standby's health verdict, and the
cheap check that decides whether Alembic is needed at all on start."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bot.health import judge
from bot.leadership import AlreadyRunning, FileLock, leadership_for
from storage.db import Database, Fenced, alembic_config, head_revision

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


async def test_a_second_lock_on_the_same_sqlite_file_is_refused_until_the_first_is_released(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'regiobot.db'}")
    first, second = leadership_for(db), leadership_for(db)
    assert isinstance(first, FileLock)
    await first.acquire()
    assert first.active and (tmp_path / "data" / "regiobot.db.lock").exists()
    with pytest.raises(AlreadyRunning, match=r"läuft schon ein regiobot.*already runs"):
        await second.acquire()
    assert not second.active
    await first.release()
    await second.acquire()
    assert second.active
    await second.release()
    await db.close()


async def test_a_database_whose_fence_is_down_starts_no_transaction(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'regiobot.db'}")
    db.fence = lambda: False
    with pytest.raises(Fenced):
        async with db.transaction():
            pass
    await db.close()


@pytest.mark.parametrize(
    ("role", "error", "status", "healthy"),
    [
        ("standby", None, "standby", True),  # never synced, and rightly so
        ("standby", "OperationalError", "unhealthy", False),
        ("lost", None, "unhealthy", False),
        ("active", None, "ok", True),
    ],
)
def test_a_standby_is_healthy_when_its_database_answers(role, error, status, healthy):
    health = judge(NOW if role != "standby" else None, NOW, error, role=role)
    assert health.healthy == healthy
    assert health.body(NOW)["status"] == status and health.body(NOW)["role"] == role


def test_the_head_read_from_the_files_is_alembics_head():
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def test_a_start_on_an_up_to_date_database_does_not_load_alembic(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'regiobot.db'}"
    db = Database(url)
    await db.migrate()
    await db.close()
    script = (
        "import asyncio, sys\n"
        "from storage.db import Database\n"
        f"db = Database({url!r})\n"
        "asyncio.run(db.migrate())\n"
        "print('alembic' in sys.modules)\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
