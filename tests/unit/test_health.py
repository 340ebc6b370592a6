"""Health verdicts, metrics exposition, and the HTTP listener on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.devserver import free_port
from bot.health import SYNC_STALE_AFTER, HealthServer, Metrics, judge
from storage import rows
from storage.db import Database
from storage.models import PlannedMessage, PlannedStatus, Session

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition.decode())
        for s in family.samples
    }


@pytest.mark.parametrize(
    ("synced_at", "error", "sync", "healthy"),
    [
        (None, None, "never", False),
        (NOW - SYNC_STALE_AFTER, None, "ok", True),
        (NOW - SYNC_STALE_AFTER - timedelta(seconds=1), None, "stale", False),
        (NOW, "OperationalError", "ok", False),
    ],
)
def test_judge(synced_at, error, sync, healthy):
    health = judge(synced_at, NOW, error)
    assert (health.sync, health.healthy) == (sync, healthy)
    body = health.body(NOW)
    assert body["status"] == ("ok" if healthy else "unhealthy")
    assert body["database"] == ({"status": "ok"} if error is None else {"status": "error", "error": error})


def test_metrics_count_commands_by_outcome_and_keep_to_their_own_registry():
    first, second = Metrics(), Metrics()
    first.command_done("anmelden", "ok", 0.2)
    first.command_done("anmelden", "ok", 0.3)
    first.command_done("termin neu", "refused", 0.01)
    first.sync_failed()
    first.synced(NOW)
    first.planned_counts({PlannedStatus.PENDING: 3, PlannedStatus.FAILED: 1})
    seen = samples(first.exposition())
    assert seen[("regiobot_commands_total", (("command", "anmelden"), ("outcome", "ok")))] == 2
    assert seen[("regiobot_commands_total", (("command", "termin neu"), ("outcome", "refused")))] == 1
    assert seen[("regiobot_answer_seconds_count", ())] == 3
    assert seen[("regiobot_answer_seconds_bucket", (("le", "0.25"),))] == 2
    assert seen[("regiobot_sync_errors_total", ())] == 1
    assert seen[("regiobot_last_sync_timestamp_seconds", ())] == NOW.timestamp()
    assert {status: seen[("regiobot_planned_messages", (("status", status),))] for status in PlannedStatus} == {
        "pending": 3,
        "sent": 0,
        "skipped": 0,
        "failed": 1,
    }
    assert ("regiobot_commands_total", (("command", "anmelden"), ("outcome", "ok"))) not in samples(second.exposition())


def test_gap_fills_are_counted_with_the_events_they_fetched():
    metrics = Metrics()
    assert samples(metrics.exposition())[("regiobot_gap_fills_total", ())] == 0  # shown before the first
    metrics.gap_filled(140)
    metrics.gap_filled(0)  # a timeline cut where /messages found nothing more is a fill all the same
    seen = samples(metrics.exposition())
    assert seen[("regiobot_gap_fills_total", ())] == 2
    assert seen[("regiobot_gap_fill_events_total", ())] == 140


async def fetch(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def test_listener_answers_healthz_and_metrics_from_the_database(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'regiobot.db'}")
    await db.migrate()
    async with db.transaction() as s:
        session = await rows.save(
            s, Session(title="T", starts_at=NOW, ends_at=NOW, room_id="!r:l", created_by="@a:l", created_at=NOW)
        )
        for number, status in enumerate(["pending", "pending", "sent", "skipped"]):
            await rows.save(
                s,
                PlannedMessage(
                    key=f"k{number}", kind="reminder", session_id=session.id, due_at=NOW, status=status, created_at=NOW
                ),
            )
    now = [NOW]
    metrics = Metrics()
    server = HealthServer(("127.0.0.1", free_port()), metrics, db, lambda: now[0])
    base = f"http://127.0.0.1:{server.port}"
    await server.start()
    try:
        status, text = await fetch(f"{base}/healthz")
        assert status == 503 and json.loads(text)["sync"] == {"status": "never", "last": None, "age_seconds": None}

        metrics.synced(NOW)
        status, text = await fetch(f"{base}/healthz")
        assert status == 200 and json.loads(text) == {
            "status": "ok",
            "role": "active",
            "sync": {"status": "ok", "last": NOW.isoformat(), "age_seconds": 0},
            "database": {"status": "ok"},
            "outbox": {"status": "ok", "oldest_waiting_seconds": None},
        }

        now[0] = NOW + SYNC_STALE_AFTER + timedelta(minutes=1)
        assert (await fetch(f"{base}/healthz"))[0] == 503

        status, text = await fetch(f"{base}/metrics")
        assert status == 200
        seen = samples(text.encode())
        assert [seen[("regiobot_planned_messages", (("status", s),))] for s in PlannedStatus] == [2, 1, 1, 0]
    finally:
        await server.stop()
        await db.close()


async def test_healthz_names_a_database_that_does_not_answer(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'no such folder' / 'regiobot.db'}")
    metrics = Metrics()
    metrics.synced(NOW)
    server = HealthServer(("127.0.0.1", free_port()), metrics, db, lambda: NOW)
    await server.start()
    try:
        status, text = await fetch(f"http://127.0.0.1:{server.port}/healthz")
        assert status == 503
        assert json.loads(text)["database"] == {"status": "error", "error": "OperationalError"}
        status, text = await fetch(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200 and "regiobot_planned_messages{" not in text
    finally:
        await server.stop()
        await db.close()
