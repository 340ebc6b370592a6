"""The sync loop: long-polls the homeserver, joins rooms it is invited to (up to a cap per person
who invites, see `bot.invitations`), greets them, and hands each batch of events to the dispatcher.

Sync rules (see the README): the very first sync is never answered (it is history); the sync
token is stored with the decisions on a batch's last commands, never without them; a "limited"
timeline (more arrived than the sync filter's `SYNC_TIMELINE_LIMIT`: a real gap, such as the bot
being down, not a burst) is completed with /messages back to the stored token, each such gap fill
counted in the metrics and logged; every command event is answered once (by event id). While the
database fails transiently (locked by another process, connection lost), the batch is tried again
with backoff for as long as that lasts: nothing is acknowledged that was not decided, and the
homeserver is asked for nothing new meanwhile. The next long-poll waits until the batch's answers
are out (`ANSWERS_FIRST` at most): the homeserver then wakes only the person's sync with an answer,
not also the bot's own. What the bot sent itself is taken out of each sync before nio reads it
(`Client`): the memory release after the messages of a fan-out, which no sync brings, follows the
deliverer (`Deliverer.settled`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from nio import (
    InviteMemberEvent,
    MegolmEvent,
    MessageDirection,
    RoomCreateEvent,
    RoomMemberEvent,
    RoomMessagesResponse,
    SyncResponse,
)

from bot.acting import NOTICE_TTL
from bot.config import Config
from bot.deliverer import Deliverer
from bot.dispatch import Dispatcher, Incoming
from bot.events import EventReader
from bot.health import Metrics
from bot.invitations import Invitations
from bot.keystore import CryptoStore
from bot.matrix import FIRST_SYNC_FILTER, SYNC_FILTER, Client, Matrix, MatrixError, backoff_delay
from bot.memory import IdleTrim
from bot.removals import Removals
from bot.scheduler import Scheduler
from rules.i18n import t
from rules.rendering.content import message_content
from storage import outbox, state
from storage.db import Database
from storage.failures import describe, is_transient
from storage.outbox import Outgoing

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
GAP_PAGE = 100
GAP_MAX_PAGES = 1000  # 100,000 events; a longer gap is not skipped but fetched again after a while
GAP_RETRY = 5.0  # seconds before a sync whose gap could not be filled is tried again
JOIN_ATTEMPTS = 8  # further tries of a join that failed for a passing reason (backoff: about 4 minutes in all)
DATABASE_RETRY_CAP = 30.0  # seconds between attempts at most while the database is unavailable
ANSWERS_FIRST = 0.5  # seconds the next long-poll waits at most for the batch's answers to be out
T = TypeVar("T")


class Stopped(Exception):
    """Stopping was asked for while waiting for the database."""


async def retried(
    work: Callable[[], Awaitable[T]], stopping: asyncio.Event, on_retry: Callable[[], None] = lambda: None
) -> T:
    """Run database `work`; while it fails transiently (`storage.failures.is_transient`), run it
    again with backoff (about 0.5 s doubling up to DATABASE_RETRY_CAP) for as long as that lasts.
    Raises Stopped when `stopping` is set meanwhile, and any other failure at once."""
    failures = 0
    while True:
        try:
            result = await work()
        except Exception as exc:
            if not is_transient(exc):
                raise
            failures += 1
            on_retry()
            delay = backoff_delay(failures - 1, DATABASE_RETRY_CAP)
            log.warning("database unavailable (%s); trying the same batch again in %.1f s", describe(exc), delay)
            if await stopped_within(stopping, delay):
                raise Stopped from None
            continue
        if failures:
            log.info("database available again after %d failed attempts", failures)
        return result


async def unless_stopped(work: Awaitable[T], stopping: asyncio.Event) -> asyncio.Future[T] | None:
    """Run `work` unless `stopping` is set first (then it is cancelled): its finished future (its
    result or exception in it), or None when stopping came first."""
    task = asyncio.ensure_future(work)
    waiting = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if task.done():
        return task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def stopped_within(stopping: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` unless `stopping` is set first; whether it is."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


def gap_before(timeline: list[Any], limited: bool) -> bool:
    """Whether events may be missing before a room's timeline: Synapse marks it "limited" when more
    arrived than the sync filter lets through, and always in a room just joined, where a timeline
    that begins with the room's creation leaves nothing out (no /messages round trip per join)."""
    return limited and not (timeline and isinstance(timeline[0], RoomCreateEvent))


def removal_marks(response: SyncResponse, user_id: str) -> dict[str, str]:
    """The rooms the bot left since the last sync, each with what names its removal: the event
    that took it out, or (not in the timeline) the sync that told it."""
    marks = {}
    for room_id, info in response.rooms.leave.items():
        own = [e for e in info.timeline.events if isinstance(e, RoomMemberEvent) and e.state_key == user_id]
        marks[room_id] = own[-1].event_id if own else response.next_batch
    return marks


def carries_work(response: SyncResponse) -> bool:
    """Whether a sync brought anything to work on (an empty long-poll brings nothing): events
    in rooms (not the bot's own messages: they are taken out), invitations, rooms left,
    to-device events."""
    rooms = response.rooms
    return bool(
        rooms.invite
        or rooms.leave
        or response.to_device_events
        or any(info.timeline.events or info.state for info in rooms.join.values())
    )


class SyncLoop:
    """Syncs until stopped; reconnects with backoff when the homeserver is away, and waits out a
    database that is unavailable for a while."""

    def __init__(
        self,
        config: Config,
        client: Client,
        db: Database,
        matrix: Matrix,
        dispatcher: Dispatcher,
        scheduler: Scheduler,
        deliverer: Deliverer,
        metrics: Metrics,
        clock: Callable[[], datetime],
        stopping: asyncio.Event,
        invited: Invitations,
        removed: Removals,
    ) -> None:
        self.config = config
        self.client = client
        self.db = db
        self.matrix = matrix
        self.dispatcher = dispatcher
        self.scheduler = scheduler
        self.deliverer = deliverer
        self.metrics = metrics
        self.clock = clock
        self._stop = stopping
        self.invited = invited
        self.removed = removed
        self.ready = asyncio.Event()  # set after the first sync: from then on commands are answered
        self._to_greet: set[str] = set()
        # Freed memory goes back once a burst or a fan-out is over, SQLite's page caches with it.
        self.memory = IdleTrim(release=self._release_memory, working=lambda: self.deliverer.sending)
        deliverer.settled = self.memory.busy  # a fan-out (its copies do not come back in the sync)
        self._joining: set[asyncio.Task[None]] = set()  # joins tried again after a passing failure
        self._in_hand: set[str] = set()  # the rooms of the batch being handled

    async def run(self) -> None:
        """Sync until stopped (a database error that does not pass by itself is raised)."""
        try:
            with contextlib.suppress(Stopped):
                await self._run()
        finally:
            self.memory.close()
            for task in self._joining:
                task.cancel()

    async def _run(self) -> None:
        since, first_sync_at = await self._database(self._start_state)
        reader = EventReader(
            self.client.user_id,
            self.config.matrix.allowed_servers,
            int(datetime.fromisoformat(first_sync_at).timestamp() * 1000),
            self.dispatcher.wants,
        )
        failures = 0
        first = True  # of this start: the rooms' state is read then (nio keeps it only in memory)
        while not self._stop.is_set():
            response = await self._sync(since, first)
            if response is None:
                return
            if isinstance(response, SyncResponse):
                self._in_hand = set(response.rooms.join)
                response = await self._learn_rooms(response, first and since is not None)
            if not isinstance(response, SyncResponse):
                failures += 1
                self.metrics.sync_failed()
                delay = backoff_delay(failures)
                log.warning("sync failed (%s), retrying in %.1f s", getattr(response, "message", response), delay)
                await stopped_within(self._stop, delay)
                continue
            failures = 0
            self.matrix.keys.after_sync(response, first=first)  # in the background
            first = False
            self._note_creations(response)
            await self._greet(response)
            await self._accept_invites(response, reader)
            if not self.scheduler.running and not self._to_greet:
                # Once the rooms we are in are known (rooms just joined show up a sync later):
                # planned messages can go out, direct rooms are found.
                await self._start_delivery()
            if not await self._handle_batch(response, since, reader):
                # Events of a gap could not be fetched: the token stays, the same batch comes again
                # (what was handled is not handled twice), nothing is skipped.
                log.warning("missed messages could not all be fetched; syncing from the same point again")
                self.metrics.sync_failed()
                await stopped_within(self._stop, GAP_RETRY)
                continue
            since = response.next_batch
            self.metrics.synced(self.clock())
            if not self.ready.is_set():
                log.info("ready: answering commands")
                self.ready.set()
            if carries_work(response):
                self.memory.busy()
                await self.deliverer.answers_out(ANSWERS_FIRST)
            del response  # not kept through the next long-poll: a burst's events, its body
            self._in_hand = set()

    async def _release_memory(self) -> None:
        """What is held for the work: the state of the direct chats not in use (a fan-out's), the
        page caches of the bot's own database and of the encryption store."""
        await self.matrix.let_go_of_direct_chats(keep=self._in_hand)
        await self.db.release_memory()
        if isinstance(self.client.store, CryptoStore):
            self.client.store.release_memory()

    async def _start_state(self) -> tuple[str | None, str]:
        """The stored sync token, and when the very first sync happened (noted now if never)."""
        async with self.db.transaction() as s:
            since = await state.get_state(s, "next_batch")
            first_sync_at = await state.get_state(s, "first_sync_at")
            if first_sync_at is None:
                first_sync_at = self.clock().isoformat()
                await state.set_state(s, "first_sync_at", first_sync_at)
        return since, first_sync_at

    async def _start_delivery(self) -> None:
        try:
            await self.scheduler.start()
        except Exception as exc:
            if not is_transient(exc):
                raise
            # Its periodic sweep places the jobs that could not be read now.
            log.warning("planned messages could not be read (%s); the next sweep places them", describe(exc))
        self.deliverer.start()

    async def _sync(self, since: str | None, first: bool) -> Any:
        """One long-poll (the first of a start returns at once), abandoned when stop() is called;
        None when stopping. The very first sync of all (no token) brings every room's state."""
        sync = await unless_stopped(
            self.client.sync(
                timeout=0 if first else SYNC_TIMEOUT_MS,
                since=since,
                sync_filter=FIRST_SYNC_FILTER if since is None else SYNC_FILTER,
            ),
            self._stop,
        )
        if sync is None:
            return None
        try:
            return sync.result()
        except Exception as exc:  # connection refused, reset … : treated like a failed sync
            return exc

    async def _learn_rooms(self, response: SyncResponse, starting: bool) -> SyncResponse | Exception:
        """Read the state the bot needs before it handles the batch: at a start (`starting`) that
        of the rooms it is in (its direct chats when it uses them), and that of a direct chat whose
        events are in the batch. The response, or what went wrong (treated like a failed sync: the
        same batch comes again)."""
        try:
            if starting:
                await self.matrix.read_joined_rooms()
            await self.matrix.learn(response.rooms.join)
        except Exception as exc:  # the homeserver went away meanwhile, or refused
            return exc
        return response

    def _note_creations(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                if isinstance(event, RoomCreateEvent):
                    self.matrix.note_creation(room_id, event)

    async def _accept_invites(self, response: SyncResponse, reader: EventReader) -> None:
        """Join the rooms invited into (declining those from servers not allowed, and those beyond
        the inviter's cap); rooms left or removed from count no longer (first: a room one was
        removed from makes room for the next invitation in the same sync), and are forgotten
        before the batch's commands are decided (see `bot.removals`)."""
        if response.rooms.leave:
            removals = self.removed.forget(removal_marks(response, self.client.user_id))
            await self._database(functools.partial(self.removed.tell, removals))
            await self._database(functools.partial(self.invited.left, list(response.rooms.leave)))
            if removals:
                self.deliverer.wake()
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
            if inviter is None or not reader.allowed(inviter):
                log.info("declining invite to %s from a server that is not allowed", room_id)
                await self.client.room_leave(room_id)
                continue
            if not await self._database(functools.partial(self.invited.admit, room_id, inviter)):
                log.info("declining invite to %s: its sender invited the bot into as many rooms as one may", room_id)
                await self.client.room_leave(room_id)
                self.deliverer.wake()
                continue
            if await self._join(room_id, inviter) is None:
                self._joining.add(task := asyncio.create_task(self._join_later(room_id, inviter)))
                task.add_done_callback(self._joining.discard)

    async def _join(self, room_id: str, inviter: str) -> bool | None:
        """Join on `inviter`'s invitation: True when joined, False when refused for good (the
        invitation withdrawn, say), None when it failed for a passing reason."""
        try:
            await self.matrix.join(room_id)
        except MatrixError as error:
            log.warning("could not join %s: %s", room_id, error)
            return None if error.temporary else False
        await self._database(functools.partial(self.invited.joined, room_id, inviter))
        self._to_greet.add(room_id)
        return True

    async def _join_later(self, room_id: str, inviter: str) -> None:
        """Try a failed join again with backoff (a homeserver restarting, a proxy's 502): the
        invitation does not come again in a later sync."""
        for attempt in range(1, JOIN_ATTEMPTS + 1):
            if await stopped_within(self._stop, backoff_delay(attempt)):
                return
            if await self._join(room_id, inviter) is not None:
                return
        log.warning("gave up joining %s after %d attempts; invite the bot again", room_id, JOIN_ATTEMPTS + 1)

    async def _database(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run database `work`, again while the database is unavailable (see `retried`)."""
        return await retried(work, self._stop, self.metrics.database_retried)

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

    async def _handle_batch(self, response: SyncResponse, since: str | None, reader: EventReader) -> bool:
        """Hand the batch's events to the dispatcher (decided together, see
        `Dispatcher.handle_batch`) and store the sync token with the last of their decisions, the
        whole batch tried again while the database is unavailable. False when a gap could not be
        filled: the events that could be read are handled all the same, and the token stays. The
        first sync (`since` None) is history: its token is stored, nothing in it is answered."""
        incoming, complete = await self._read_batch(response, since, reader) if since is not None else ([], True)

        async def store_token(s: AsyncSession) -> None:
            await state.set_state(s, "next_batch", response.next_batch)

        # each event recorded as handled with its effects, the token with the last of them
        finish = store_token if complete else None
        await self._database(lambda: self.dispatcher.handle_batch(incoming, self.clock(), finish))
        return complete

    async def _read_batch(self, response: SyncResponse, since: str, reader: EventReader) -> tuple[list[Incoming], bool]:
        """The batch's events for the dispatcher, room by room, each room's in order (a limited
        timeline completed back to `since`), and whether that is all of them."""
        incoming: list[Incoming] = []
        complete = True
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if gap_before(events, info.timeline.limited):
                missed, filled = await self._fill_gap(room_id, info.timeline.prev_batch, since)
                events = missed + events
                complete = complete and filled
            pairs = [(e, x) for e in events if (x := reader.incoming(room_id, e)) is not None]
            await self._request_keys([e for e, _ in pairs if isinstance(e, MegolmEvent)])
            incoming += [x for _, x in pairs]
        return incoming, complete

    async def _fill_gap(self, room_id: str, prev_batch: str | None, since: str) -> tuple[list[Any], bool]:
        """Events between the stored token and the start of a limited timeline, oldest first, and
        whether that is all of them. Each fill is counted (`regiobot_gap_fills_total`) and logged
        ("fetched N missed events")."""
        collected: list[Any] = []
        start = prev_batch
        # Not the bot's own messages: it does not read them, nor keep the keys to decrypt them.
        others_only = {"not_senders": [self.client.user_id]}
        complete = False
        for _ in range(GAP_MAX_PAGES):
            if not start:
                complete = True
                break
            try:
                page = await self.client.room_messages(
                    room_id,
                    start=start,
                    end=since,
                    direction=MessageDirection.back,
                    limit=GAP_PAGE,
                    message_filter=others_only,
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
        if prev_batch:  # /messages was asked at least once
            self.metrics.gap_filled(len(collected))
            log.info("fetched %d missed events in %s", len(collected), room_id)
        return list(reversed(collected)), complete

    async def _request_keys(self, events: list[MegolmEvent]) -> None:
        """Ask the senders' devices for the keys of messages we could not decrypt."""
        for event in events:
            try:
                await self.client.request_room_key(event)
            except Exception:  # a request for this session may be pending already
                log.debug("room key request for %s not sent", event.event_id, exc_info=True)
