"""The one place that builds the client, database, dispatcher, sync loop, scheduler, deliverer and
web servers, and runs them: started, raced against the loss of the lock, closed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nio import AsyncClientConfig

from bot.config import Config, ConfigError, require_store_key
from bot.deliverer import Deliverer
from bot.dispatch import Dispatcher
from bot.features import Features
from bot.health import HealthServer, Metrics
from bot.invitations import Invitations
from bot.keystore import CryptoStore, StoreState, rekey_store
from bot.leadership import leadership_for
from bot.matrix import Client, Matrix, log_in
from bot.removals import Removals
from bot.roles import Roles
from bot.rooms import OfficialRooms
from bot.routing import CommandSet
from bot.scheduler import Scheduler
from bot.sync_loop import SyncLoop, unless_stopped
from commands import ROUTERS
from rules.i18n import bilingual
from services import board_upkeep, feedback_upkeep, poll_upkeep, privacy_upkeep, qa_upkeep
from storage.db import Database, Fenced
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.web import WebServer

log = logging.getLogger(__name__)

# What the features ask of the scheduler and the deliverer (planned messages, delivery, periodic work).
FEATURES = Features(
    (qa_upkeep.FEATURE, feedback_upkeep.FEATURE, poll_upkeep.FEATURE, board_upkeep.FEATURE, privacy_upkeep.FEATURE)
)


class Bot:
    """regiobot: one Matrix account, one database, one dispatcher."""

    def __init__(self, config: Config, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self.clock = clock
        require_store_key(config.matrix)  # never nio's default key, known to everyone
        self.db = Database(config.storage_url)
        self.leadership = leadership_for(self.db)
        config.matrix.store_dir.mkdir(parents=True, exist_ok=True)
        self.client = Client(
            config.matrix.homeserver,
            config.matrix.user_id,
            device_id=config.matrix.device_id,
            store_path=str(config.matrix.store_dir),
            config=AsyncClientConfig(
                store=CryptoStore,
                store_sync_tokens=False,
                encryption_enabled=True,
                pickle_key=config.matrix.store_key,
            ),
        )
        self.matrix = Matrix(self.client, self.db, config.matrix.store_key)
        self.official = OfficialRooms(config.official_rooms)
        self.commands = CommandSet(ROUTERS)
        self.metrics = Metrics()
        self.deliverer = Deliverer(config, self.db, self.matrix, clock, self.metrics.delivered, features=FEATURES)
        self.scheduler = Scheduler(
            config,
            self.db,
            self.deliverer.wake,
            clock,
            self.matrix.prepare_direct_rooms,
            self.deliverer.send_now,
            features=FEATURES,
        )
        listen = config.metrics_listen
        self.health = (
            HealthServer(listen, self.metrics, self.db, clock, config.outbox_alert_after, lambda: self.leadership.role)
            if listen
            else None
        )
        roles = Roles(config.roles, self.matrix, self.official)
        self.web: WebServer | None = None
        if config.web:  # loaded only when configured (aiohttp's server and Jinja2)
            import web
            from bot.web import WebServer
            from bot.web_face import WebFace

            face = WebFace(config, config.web, self.db, roles, self.matrix, self.scheduler, self._delivered, clock)
            pages = web.routes(face)
            self.web = WebServer(config, config.web, self.db, self.official, clock, pages)
        self.dispatcher = Dispatcher(
            config,
            self.db,
            self.matrix,
            self.scheduler,
            self.commands,
            roles,
            self.metrics.command_done,
            self._delivered,
            self.metrics.outbox_written,
        )
        self._stop = asyncio.Event()
        self.sync = SyncLoop(
            config,
            self.client,
            self.db,
            self.matrix,
            self.dispatcher,
            self.scheduler,
            self.deliverer,
            self.metrics,
            clock,
            self._stop,
            Invitations(config, self.db, self.official, clock),
            Removals(config, self.db, self.official, self.matrix, clock),
        )
        self.ready = self.sync.ready  # set after the first sync: from then on commands are answered

    async def start(self) -> None:
        """Open /healthz and /metrics (if configured), wait for the lock (a standby waits here; on
        SQLite a second instance gets AlreadyRunning), open the key store with the store key
        (re-encrypting one written with nio's built-in key), migrate the database, open the web
        pages (if configured), log in."""
        if self.health:
            await self.health.start()
        if not await self._until_stopped(self.leadership.acquire()):
            return  # stopped while waiting as the standby
        matrix = self.config.matrix
        found = rekey_store(matrix.store_dir, matrix.user_id, matrix.device_id, matrix.store_key)
        if found == StoreState.WRONG_KEY:
            raise ConfigError("[matrix] store_key", bilingual("check.store_wrong_key", path=str(matrix.store_dir)))
        if found == StoreState.BUILT_IN:
            log.info("re-encrypted the key store with the configured store key")
        await self.db.migrate()
        await self.official.load(self.db)
        if self.web:
            await self.web.start()
        await log_in(self.client, self.config.matrix)
        log.info("logged in as %s (device %s)", self.client.user_id, self.client.device_id)

    def stop(self) -> None:
        """Ask the loop to stop after the batch it is handling (a standby stops waiting)."""
        self._stop.set()

    async def _until_stopped(self, work: Awaitable[Any]) -> bool:
        """Run `work` unless stop() comes first (then it is cancelled); whether it completed."""
        done = await unless_stopped(work, self._stop)
        if done is None:
            return False
        done.result()
        return True

    async def close(self) -> None:
        """Stop what was started and close the connections, each even when another fails to."""
        steps: list[Callable[[], Awaitable[Any]]] = [
            *([self.health.stop] if self.health else []),
            *([self.web.stop] if self.web else []),
            self.scheduler.stop,
            self.deliverer.stop,
            self.matrix.keys.close,
            self.client.close,
            self.db.close,
            self.leadership.release,
        ]
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("could not close %s", getattr(step, "__qualname__", step))

    async def run(self) -> None:
        """Sync until stopped. When the lock is lost, stop at once and raise Fenced: another
        instance may take over. An error the sync loop cannot recover from is raised."""
        if self._stop.is_set():
            return
        syncing = asyncio.ensure_future(self.sync.run())
        lost = asyncio.ensure_future(self.leadership.lost())
        try:
            await asyncio.wait({syncing, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not syncing.done():
                syncing.cancel()
                await self.scheduler.stop()
                await self.deliverer.stop()
                with contextlib.suppress(asyncio.CancelledError, Fenced):
                    await syncing
        if syncing.cancelled():
            raise Fenced(bilingual("leadership.lost"))
        syncing.result()

    async def _delivered(self, heads: list[OutboxMessage]) -> None:
        """A handler's messages are in the outbox: send those that head their lanes at once (the
        others wait behind a message that a lane worker or a retry timer already has in hand)."""
        self.deliverer.send_now(heads)
