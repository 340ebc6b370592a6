"""Health and metrics over HTTP (`[metrics] listen`): `/healthz` for container and service
monitors, `/metrics` for Prometheus.

Healthy means: the sync loop completed a sync recently, the database answers a trivial query,
and no message has waited in the outbox longer than `[metrics] outbox_alert_after`. A standby
(bot/leadership.py) is healthy when the database answers, and says "standby". The metrics
live in a registry of the bot's own, so several bots in one process (tests) keep theirs apart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage import outbox, planned
from storage.db import Database
from storage.models import PlannedStatus
from storage.outbox import Backlog

if TYPE_CHECKING:
    from aiohttp import web  # the server part of aiohttp is loaded only when /healthz is configured

log = logging.getLogger(__name__)

# A sync long-polls for 30 s; after a failure it waits up to 60 s before the next attempt.
SYNC_STALE_AFTER = timedelta(seconds=120)
DATABASE_TIMEOUT = 5.0  # seconds the trivial query may take
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The bot's counters and gauges, and when it last synced."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "regiobot_commands",
            "Commands handled, by command and outcome (ok, refused, failed)",
            ("command", "outcome"),
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "regiobot_answer_seconds",
            "Time from taking up a command to its answer sent",
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.sync_errors = Counter(
            "regiobot_sync_errors", "Syncs with the homeserver that failed", registry=self.registry
        )
        self.gap_fills = Counter(
            "regiobot_gap_fills",
            "Room timelines a sync cut short (limited) that were completed with /messages",
            registry=self.registry,
        )
        self.gap_fill_events = Counter(
            "regiobot_gap_fill_events",
            "Events fetched with /messages to complete cut timelines",
            registry=self.registry,
        )
        self.database_retries = Counter(
            "regiobot_database_retries",
            "Batches tried again because the database was unavailable (locked, connection lost)",
            registry=self.registry,
        )
        self.planned = Gauge(
            "regiobot_planned_messages",
            "Planned messages in the database, by status",
            ("status",),
            registry=self.registry,
        )
        self.deliveries = Counter(
            "regiobot_deliveries",
            "Attempts to deliver an outbox message, by outcome (sent, retry, failed)",
            ("outcome",),
            registry=self.registry,
        )
        self.outbox_write_seconds = Counter(
            "regiobot_outbox_write_seconds",
            "Time spent writing the commands' messages and records as handled into the outbox",
            registry=self.registry,
        )
        self.outbox_write_commands = Counter(
            "regiobot_outbox_write_commands",
            "Commands whose messages were written into the outbox",
            registry=self.registry,
        )
        self.outbox_pending = Gauge("regiobot_outbox_pending", "Messages waiting in the outbox", registry=self.registry)
        self.outbox_failed = Gauge("regiobot_outbox_failed", "Messages given up on", registry=self.registry)
        self.outbox_oldest = Gauge(
            "regiobot_outbox_oldest_pending_seconds",
            "How long the oldest message in the outbox has waited (0: none waits)",
            registry=self.registry,
        )
        self.last_sync = Gauge(
            "regiobot_last_sync_timestamp_seconds", "When the last sync was handled (Unix time)", registry=self.registry
        )
        self.synced_at: datetime | None = None

    def command_done(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command, outcome).inc()
        self.answer_seconds.observe(seconds)

    def outbox_written(self, commands: int, seconds: float) -> None:
        """A batch's messages and records written: what the outbox costs a command."""
        self.outbox_write_commands.inc(commands)
        self.outbox_write_seconds.inc(seconds)

    def synced(self, at: datetime) -> None:
        self.synced_at = at
        self.last_sync.set(at.timestamp())

    def delivered(self, outcome: str) -> None:
        self.deliveries.labels(outcome).inc()

    def outbox(self, backlog: Backlog, now: datetime) -> None:
        self.outbox_pending.set(backlog.pending)
        self.outbox_failed.set(backlog.failed)
        self.outbox_oldest.set((now - backlog.oldest).total_seconds() if backlog.oldest else 0)

    def sync_failed(self) -> None:
        self.sync_errors.inc()

    def gap_filled(self, events: int) -> None:
        """A room's cut timeline completed with /messages (`events` fetched)."""
        self.gap_fills.inc()
        self.gap_fill_events.inc(events)

    def database_retried(self) -> None:
        self.database_retries.inc()

    def planned_counts(self, counts: dict[str, int]) -> None:
        for status in PlannedStatus:
            self.planned.labels(status.value).set(counts.get(status, 0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@dataclass(frozen=True)
class Health:
    """The verdict of /healthz and what it rests on."""

    sync: str  # ok, stale, never
    database: str  # ok, or why not
    last_sync: datetime | None
    outbox: str = "ok"  # ok, or stuck (a message has waited too long)
    oldest_waiting: float | None = None  # seconds
    role: str = "active"  # or standby (waiting for the lock), lost (stopping), see bot/leadership.py

    @property
    def healthy(self) -> bool:
        if self.role == "standby":
            return self.database == "ok"
        return self.role == "active" and self.sync == "ok" and self.database == "ok" and self.outbox == "ok"

    def body(self, now: datetime) -> dict[str, Any]:
        status = ("standby" if self.role == "standby" else "ok") if self.healthy else "unhealthy"
        return {
            "status": status,
            "role": self.role,
            "sync": {
                "status": self.sync,
                "last": self.last_sync.isoformat() if self.last_sync else None,
                "age_seconds": round((now - self.last_sync).total_seconds()) if self.last_sync else None,
            },
            "database": {
                "status": "ok" if self.database == "ok" else "error",
                **({} if self.database == "ok" else {"error": self.database}),
            },
            "outbox": {"status": self.outbox, "oldest_waiting_seconds": self.oldest_waiting},
        }


def judge(
    synced_at: datetime | None,
    now: datetime,
    database_error: str | None,
    oldest_pending: datetime | None = None,
    alert_after: timedelta = timedelta(minutes=15),
    role: str = "active",
) -> Health:
    """Healthy when the last sync is at most SYNC_STALE_AFTER old, the database answered and no
    message has waited in the outbox longer than `alert_after`; a standby when the database answered."""
    sync = "never" if synced_at is None else "ok" if now - synced_at <= SYNC_STALE_AFTER else "stale"
    waited = (now - oldest_pending).total_seconds() if oldest_pending else None
    outbox = "stuck" if waited is not None and waited > alert_after.total_seconds() else "ok"
    waited_s = round(waited) if waited is not None else None
    return Health(sync, database_error or "ok", synced_at, outbox, waited_s, role)


class HealthServer:
    """The HTTP listener for /healthz and /metrics."""

    def __init__(
        self,
        listen: tuple[str, int],
        metrics: Metrics,
        db: Database,
        clock: Callable[[], datetime],
        alert_after: timedelta = timedelta(minutes=15),
        role: Callable[[], str] = lambda: "active",
    ) -> None:
        self.host, self.port = listen
        self.role = role
        self.alert_after = alert_after
        self.metrics = metrics
        self.db = db
        self.clock = clock
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        from aiohttp import web

        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _database_error(self) -> str | None:
        try:
            await asyncio.wait_for(self.db.ping(), DATABASE_TIMEOUT)
        except Exception as exc:  # whatever it is, the database did not answer
            return type(exc).__name__
        return None

    async def _backlog(self) -> Backlog | None:
        try:
            async with self.db.reading() as s:  # never waits for the write lock
                return await outbox.backlog(s)
        except Exception:
            log.warning("outbox not measured: the database did not answer", exc_info=True)
            return None

    async def _healthz(self, _request: web.Request) -> web.Response:
        now, role = self.clock(), self.role()
        error = await self._database_error()
        backlog = None if error or role != "active" else await self._backlog()  # a standby may not have tables yet
        oldest = backlog.oldest if backlog else None
        health = judge(self.metrics.synced_at, now, error, oldest, self.alert_after, role)
        from aiohttp import web

        return web.json_response(health.body(now), status=200 if health.healthy else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        if self.role() == "active":  # a standby's database figures would be the active one's
            await self._count()
        else:
            self.metrics.planned.clear()
        from aiohttp import web

        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _count(self) -> None:
        try:
            async with self.db.reading() as s:  # never waits for the write lock
                self.metrics.planned_counts(await planned.planned_counts(s))
                self.metrics.outbox(await outbox.backlog(s), self.clock())
        except Exception:  # no numbers rather than old ones
            self.metrics.planned.clear()
            log.warning("planned messages not counted: the database did not answer", exc_info=True)
