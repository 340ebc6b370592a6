"""The one place that builds the client, database and dispatcher, and runs the sync loop.

Sync rules (see docs/architecture.md): the very first sync is never answered (it is history); the sync
token is stored with the decisions on a batch's last commands; a "limited" timeline is completed with
/messages back to the stored token; every command event is answered once (by event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nio import (
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    MegolmEvent,
    MessageDirection,
    ReactionEvent,
    RoomCreateEvent,
    RoomMessagesResponse,
    RoomMessageText,
    SyncResponse,
)

from bot.acting import NOTICE_TTL
from bot.config import Config, ConfigError, require_store_key
from bot.deliverer import Deliverer
from bot.dispatch import Dispatcher, EventKind, Incoming
from bot.health import HealthServer, Metrics
from bot.keystore import CryptoStore, StoreState, rekey_store
from bot.leadership import leadership_for
from bot.matrix import FIRST_SYNC_FILTER, SYNC_FILTER, Client, Matrix, backoff_delay, log_in, maintain_keys
from bot.roles import Roles
from bot.rooms import OfficialRooms
from bot.routing import CommandSet
from bot.scheduler import Scheduler
from commands import (
    board,
    calendar_feed,
    coordination,
    feedback,
    followups,
    municipalities,
    polls,
    privacy,
    qa,
    registration,
    rooms,
    series,
    sessions,
    statistics,
    status,
    topics,
    web_login,
    widget,
)
from commands import help as help_commands
from rules.content import message_content
from rules.i18n import bilingual, t
from storage import outbox, state
from storage.db import Database, Fenced
from storage.models import OutboxMessage
from storage.outbox import Outgoing

log = logging.getLogger(__name__)

# Every handler module's router; the dispatcher knows them only through this list.
if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.web import WebServer

ROUTERS = (
    help_commands.router,
    sessions.router,
    registration.router,
    coordination.router,
    series.router,
    followups.router,
    status.router,
    privacy.router,
    qa.router,
    rooms.router,
    topics.router,
    feedback.router,
    polls.router,
    board.router,
    municipalities.router,
    statistics.router,
    calendar_feed.router,
    web_login.router,
    widget.router,
)
SYNC_TIMEOUT_MS = 30_000
GAP_PAGE = 100
GAP_MAX_PAGES = 1000  # 100,000 events; a longer gap is not skipped but fetched again after a while
GAP_RETRY = 5.0  # seconds before a sync whose gap could not be filled is tried again


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def thread_root(event: RoomMessageText) -> str | None:
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    return relates.get("event_id") if relates.get("rel_type") == "m.thread" else None


def reply_to(event: RoomMessageText) -> str | None:
    """The event a message answers (m.in_reply_to), unless that is only a thread's fallback."""
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    if relates.get("rel_type") == "m.thread" and relates.get("is_falling_back"):
        return None
    replied = (relates.get("m.in_reply_to") or {}).get("event_id")
    return replied if isinstance(replied, str) else None


def redacted_id(event: Any) -> str | None:
    """The event a redaction removes (top level before room version 11, in the content after)."""
    source = getattr(event, "source", {})
    if source.get("type") != "m.room.redaction":
        return None
    redacts = source.get("redacts") or source.get("content", {}).get("redacts")
    return redacts if isinstance(redacts, str) else None


def is_edit(event: RoomMessageText) -> bool:
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    return relates.get("rel_type") == "m.replace"


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
        self.deliverer = Deliverer(config, self.db, self.matrix, clock, self.metrics.delivered)
        self.scheduler = Scheduler(
            config, self.db, self.deliverer.wake, clock, self.matrix.prepare_direct_rooms, self.deliverer.send_now
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
            from bot.web import WebServer
            from bot.web_face import WebFace
            from web import coordination, login, me, programme, registration
            from web import widget as widget_page

            face = WebFace(config, config.web, self.db, roles, self.matrix, self.scheduler, self._delivered, clock)
            faces = (login, programme, me, registration, coordination, widget_page)
            pages = [route for face_module in faces for route in face_module.routes(face)]
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
        self.ready = asyncio.Event()  # set after the first sync: from then on commands are answered
        self._first_sync_ms = 0
        self._to_greet: set[str] = set()

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
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return False
        task.result()
        return True

    async def close(self) -> None:
        if self.health:
            await self.health.stop()
        if self.web:
            await self.web.stop()
        await self.scheduler.stop()
        await self.deliverer.stop()
        await self.client.close()
        await self.db.close()
        await self.leadership.release()

    async def run(self) -> None:
        """Sync until stopped. When the lock is lost, stop at once and raise Fenced: another
        instance may take over."""
        if self._stop.is_set():
            return
        syncing = asyncio.ensure_future(self._sync_loop())
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

    async def _sync_loop(self) -> None:
        """Sync until stopped; reconnect with backoff when the homeserver is away."""
        async with self.db.transaction() as s:
            since = await state.get_state(s, "next_batch")
            first_sync_at = await state.get_state(s, "first_sync_at")
            if first_sync_at is None:
                first_sync_at = self.clock().isoformat()
                await state.set_state(s, "first_sync_at", first_sync_at)
        self._first_sync_ms = int(datetime.fromisoformat(first_sync_at).timestamp() * 1000)
        failures = 0
        full_state = True  # once per start: nio keeps room state (power levels) only in memory
        while not self._stop.is_set():
            response = await self._sync(since, full_state)
            if response is None:
                return
            if not isinstance(response, SyncResponse):
                failures += 1
                self.metrics.sync_failed()
                delay = backoff_delay(failures)
                log.warning("sync failed (%s), retrying in %.1f s", getattr(response, "message", response), delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                continue
            failures = 0
            full_state = False
            self._note_creations(response)
            await maintain_keys(self.client)
            await self._greet(response)
            await self._accept_invites(response)
            if not self.scheduler.running and not self._to_greet:
                # Once the rooms we are in are known (rooms just joined show up a sync later):
                # planned messages can go out, direct rooms are found.
                await self.scheduler.start()
                self.deliverer.start()
            if not await self._handle_batch(response, since):
                # Events of a gap could not be fetched: the token stays, the same batch comes again
                # (what was handled is not handled twice), nothing is skipped.
                log.warning("missed messages could not all be fetched; syncing from the same point again")
                self.metrics.sync_failed()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), GAP_RETRY)
                continue
            since = response.next_batch
            self.metrics.synced(self.clock())
            if not self.ready.is_set():
                log.info("ready: answering commands")
                self.ready.set()

    async def _sync(self, since: str | None, full_state: bool) -> Any:
        """One long-poll, abandoned when stop() is called; None when stopping."""
        sync = asyncio.ensure_future(
            self.client.sync(
                timeout=0 if full_state else SYNC_TIMEOUT_MS,
                since=since,
                full_state=full_state,
                sync_filter=FIRST_SYNC_FILTER if since is None else SYNC_FILTER,
            )
        )
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({sync, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not sync.done():
            sync.cancel()
            return None
        try:
            return sync.result()
        except Exception as exc:  # connection refused, reset … : treated like a failed sync
            return exc

    def _allowed(self, user_id: str) -> bool:
        return server_of(user_id) in self.config.matrix.allowed_servers

    def _note_creations(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                if isinstance(event, RoomCreateEvent):
                    self.matrix.note_creation(room_id, event)

    async def _accept_invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            inviter = next(
                (
                    e.sender
                    for e in info.invite_state
                    if isinstance(e, InviteMemberEvent)
                    and e.state_key == self.client.user_id
                    and e.membership == "invite"
                ),
                None,
            )
            if inviter is None or not self._allowed(inviter):
                log.info("declining invite to %s from a server that is not allowed", room_id)
                await self.client.room_leave(room_id)
                continue
            joined = await self.client.join(room_id)
            if not isinstance(joined, JoinResponse):
                log.warning("could not join %s: %s", room_id, joined)
                continue
            self._to_greet.add(room_id)

    async def _greet(self, response: SyncResponse) -> None:
        """Say hello in rooms joined since the last sync, once this sync has told us what they are
        like (encrypted or not, who is in them)."""
        self._to_greet -= set(response.rooms.leave)  # left (or was removed) before we could greet
        for room_id in self._to_greet & set(response.rooms.join):
            self._to_greet.discard(room_id)
            content = message_content(t("bot.welcome", self.config.language, prefix=self.config.command_prefix))
            now = self.clock()
            try:
                async with self.db.transaction() as s:
                    await outbox.enqueue(
                        s, Outgoing(f"welcome:{room_id}", content, room_id=room_id), now, now + NOTICE_TTL
                    )
            except Exception:  # a greeting lost is no reason to stop
                log.warning("could not greet %s", room_id, exc_info=True)
            self.deliverer.wake()

    async def _handle_batch(self, response: SyncResponse, since: str | None) -> bool:
        """Hand the batch's events to the dispatcher (decided together, see
        `Dispatcher.handle_batch`) and store the sync token with the last of their decisions.
        False when a gap could not be filled: the events that could be read are handled all the
        same, and the token stays. The first sync (`since` None) is history: its token is stored,
        nothing in it is answered."""
        incoming, complete = await self._read_batch(response, since) if since is not None else ([], True)

        async def store_token(s: AsyncSession) -> None:
            await state.set_state(s, "next_batch", response.next_batch)

        # each event recorded as handled with its effects, the token with the last of them
        await self.dispatcher.handle_batch(incoming, self.clock(), store_token if complete else None)
        return complete

    async def _read_batch(self, response: SyncResponse, since: str) -> tuple[list[Incoming], bool]:
        """The batch's events for the dispatcher, room by room, each room's in order (a limited
        timeline completed back to `since`), and whether that is all of them."""
        incoming: list[Incoming] = []
        complete = True
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited:
                missed, filled = await self._fill_gap(room_id, info.timeline.prev_batch, since)
                events = missed + events
                complete = complete and filled
            pairs = [(e, x) for e in events if (x := self._incoming(room_id, e)) is not None]
            await self._request_keys([e for e, _ in pairs if isinstance(e, MegolmEvent)])
            incoming += [x for _, x in pairs]
        return incoming, complete

    def _incoming(self, room_id: str, event: Any) -> Incoming | None:
        """What an event is for the dispatcher, or None when no route could take it (our own
        events, other servers', history from before the first sync, edits, other reactions)."""
        sender = getattr(event, "sender", "")
        if sender == self.client.user_id or not self._allowed(sender):
            return None
        timestamp = getattr(event, "server_timestamp", 0)
        if timestamp < self._first_sync_ms:
            return None
        sent_at = datetime.fromtimestamp(timestamp / 1000, UTC)
        if isinstance(event, RoomMessageText):
            if is_edit(event):
                return None
            return Incoming(
                room_id, sender, event.event_id, event.body, thread_root(event), sent_at, reply_to=reply_to(event)
            )
        if isinstance(event, MegolmEvent):  # encrypted, and we could not decrypt it
            return Incoming(room_id, sender, event.event_id, sent_at=sent_at, kind=EventKind.UNDECRYPTABLE)
        if isinstance(event, ReactionEvent):
            if not self.dispatcher.wants(EventKind.REACTION, event.key):
                return None
            return Incoming(
                room_id,
                sender,
                event.event_id,
                sent_at=sent_at,
                kind=EventKind.REACTION,
                key=event.key,
                target=event.reacts_to,
            )
        redacts = redacted_id(event)
        if redacts is None or not self.dispatcher.wants(EventKind.REDACTION):
            return None
        return Incoming(room_id, sender, event.event_id, sent_at=sent_at, kind=EventKind.REDACTION, target=redacts)

    async def _fill_gap(self, room_id: str, prev_batch: str | None, since: str) -> tuple[list[Any], bool]:
        """Events between the stored token and the start of a limited timeline, oldest first, and
        whether that is all of them."""
        collected: list[Any] = []
        start = prev_batch
        complete = False
        for _ in range(GAP_MAX_PAGES):
            if not start:
                complete = True
                break
            try:
                page = await self.client.room_messages(
                    room_id, start=start, end=since, direction=MessageDirection.back, limit=GAP_PAGE
                )
            except Exception as exc:  # the homeserver went away while we were reading
                page = exc
            if not isinstance(page, RoomMessagesResponse):
                log.warning("could not fetch missed messages in %s: %s", room_id, type(page).__name__)
                break
            collected.extend(page.chunk)
            if not page.chunk or page.end in (None, start):
                complete = True
                break
            start = page.end
        if collected:
            log.info("fetched %d missed events in %s", len(collected), room_id)
        return list(reversed(collected)), complete

    async def _delivered(self, heads: list[OutboxMessage]) -> None:
        """A handler's messages are in the outbox: send those that head their lanes at once (the
        others wait behind a message that a lane worker or a retry timer already has in hand)."""
        self.deliverer.send_now(heads)

    async def _request_keys(self, events: list[MegolmEvent]) -> None:
        """Ask the senders' devices for the keys of messages we could not decrypt."""
        for event in events:
            try:
                await self.client.request_room_key(event)
            except Exception:  # a request for this session may be pending already
                log.debug("room key request for %s not sent", event.event_id, exc_info=True)
