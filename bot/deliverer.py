"""Delivers the outbox: every message until it lands, each lane in order, lanes side by side.

A lane is a room (answers arrive in the order of their commands) or one person's direct chat
(a fan-out to many people goes out in parallel). Temporary failures — 429, 5xx (a proxy's 502
while Synapse restarts), timeouts, connection errors, answers that cannot be understood — are
retried with exponential backoff and jitter for as long as the message still makes sense; then,
or at once for a final refusal (M_FORBIDDEN, M_TOO_LARGE), it is marked failed and the
coordinators are told: each once a day for a room and a cause, however many messages fail there.
A room where the bot may not post (its power level below m.room.message) is left, after the one
who invited the bot has been told. Each message carries a transaction id derived from its key, so a
retry after a crash is deduplicated by the homeserver; and no instance sends once it is no longer
the active one (its fence is checked right before each send).

Features plug in (`bot.features`): rooms they name by a stand-in are made here on their first
message, and content they fill in is completed from the homeserver right before it goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, voice_of
from bot.config import Config
from bot.features import Features
from bot.matrix import Invitation, MatrixError
from rules.rendering.content import message_content, relation, transaction_id
from rules.sessions import ref
from rules.timing import retry_delay
from storage import outbox, sessions
from storage.db import Database, Fenced
from storage.failures import describe, is_transient
from storage.models import OutboxMessage
from storage.outbox import ANSWER_LANE, Outgoing, planned_row
from storage.people import FORGOTTEN

log = logging.getLogger(__name__)

# Messages on their way at once, below aiohttp's 100 connections per client (the sync and the key
# upkeep keep theirs). Each holds its request and its row until the homeserver answers, and each
# sent alongside another forks the room's history: 48 against 64 left 0.4–0.7 MB less after a
# burst of 200 at the same pace (docs/performance.md).
PARALLEL_SENDS = 48
# Messages other than answers (a reminder's direct copies, the bot's posts, reports) hold at most
# this many of those slots, so answers always find one free; each in flight holds its request, its
# encryption and its transaction, which a fan-out's memory keeps as a high-water mark (24 against
# 48: 0.5 MB less after a fan-out to 200, at the homeserver's pace: docs/performance.md).
BULK_SENDS = 24
# Senders that take up such messages handed over at once: a few more than their slots, as a sender
# notes its message as sent after giving its slot back.
BULK_SENDERS = 32
IDLE_CHECK = 30.0  # seconds: look for due retries at least this often
Observer = Callable[[str], None]  # the outcome of each delivery attempt: sent, retry, failed


class Sender(Protocol):
    """The homeserver, as the deliverer uses it (the Matrix layer, or a fake in unit tests)."""

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str, event_type: str = ...) -> str: ...

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any], state_key: str) -> str: ...

    async def upload(self, room_id: str, data: bytes, content_type: str, filename: str) -> dict[str, Any]: ...

    async def direct_room(self, user_id: str) -> str: ...

    async def relations(self, room_id: str, event_id: str) -> list[dict[str, Any]]: ...

    async def group_room(self, user_ids: list[str], name: str, key: str) -> str: ...

    def may_post(self, room_id: str) -> bool: ...

    def room_name(self, room_id: str) -> str: ...

    async def invitation(self, room_id: str) -> Invitation | None: ...

    async def leave(self, room_id: str) -> None: ...


def outbox_tx_id(row: OutboxMessage) -> str:
    return transaction_id("out", row.key)


def error_of(exc: Exception) -> str:
    """A failure as the log and the outbox row note it (the homeserver's words, never a traceback)."""
    return str(exc) if isinstance(exc, MatrixError) else type(exc).__name__


def cause_of(exc: Exception) -> str:
    """What a failed delivery is reported by: the homeserver's refusal (its error code), or
    "unreachable" for a message given up after temporary failures."""
    if isinstance(exc, MatrixError) and not exc.temporary:
        return exc.errcode or str(exc.status)
    return "unreachable"


class Deliverer:
    """Sends what the outbox holds; `wake()` after writing to it, `drain()` to deliver what is due."""

    def __init__(
        self,
        config: Config,
        db: Database,
        sender: Sender,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observe: Observer = lambda _: None,
        *,
        features: Features | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.sender = sender
        self.clock = clock
        self.observe = observe
        self.features = features or Features()
        self._leaving: set[str] = set()  # rooms where the bot may not post, being left
        self._busy: set[str] = set()
        self._idle = asyncio.Event()  # no lane is being worked on
        self._idle.set()
        self._answered = asyncio.Event()  # no answer lane is being worked on
        self._answered.set()
        self._wake = asyncio.Event()
        self._sends = asyncio.Semaphore(PARALLEL_SENDS)
        self._bulk_sends = asyncio.Semaphore(BULK_SENDS)
        self._task: asyncio.Task[Any] | None = None
        self._stopping = False
        self._started = False  # until the first round is done, what was left over goes first
        self._lanes: set[asyncio.Task[Any]] = set()  # senders started by send_now
        # Lanes handed to send_now, waiting for one of its senders (answers: True), and how many
        # senders work through each.
        self._handed: dict[bool, deque[OutboxMessage]] = {True: deque(), False: deque()}
        self._senders = {True: 0, False: 0}
        self._finished = 0  # how many times a lane was let go (its head may have changed)
        # Called each time the last lane at work is let go (a fan-out, the answers of a burst are out).
        self.settled: Callable[[], None] = lambda: None

    def wake(self) -> None:
        """Something was written to the outbox: deliver it soon."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = _background(self._run())

    async def stop(self) -> None:
        self._stopping = True
        for task in [*self._lanes, *([self._task] if self._task else [])]:
            task.cancel()
        await asyncio.gather(*self._lanes, *([self._task] if self._task else []), return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                wait = await self.drain()
                self._started = True
            except Exception:
                log.exception("outbox: delivery round failed")
                wait = IDLE_CHECK
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(wait, IDLE_CHECK))

    async def drain(self) -> float:
        """Deliver every lane's due messages, lanes side by side; returns the seconds until the
        next retry is due (or IDLE_CHECK)."""
        stuck: set[str] = set()  # lanes whose head waits for another message
        while True:
            now = self.clock()
            finished = self._finished
            async with self.db.transaction() as s:
                heads = await outbox.lane_heads(s, exclude=self._busy | stuck)
            due = [h for h in heads if h.next_attempt_at is None or h.next_attempt_at <= now]
            if not due and self._busy:  # another round is at work: wait for it, then look again
                await self._idle.wait()
                continue
            if not due:
                later = [h.next_attempt_at for h in heads if h.next_attempt_at is not None]
                return max(0.0, (min(later) - now).total_seconds()) if later else IDLE_CHECK
            # The heads read are sent as read unless some lane finished meanwhile (one of them
            # may have been sent then); a lane taken meanwhile is skipped. The others are taken
            # now and worked through by up to PARALLEL_SENDS at a time (the rest wait as rows).
            fresh = finished == self._finished
            taken = [head for head in due if head.lane not in self._busy]
            for head in taken:
                self._take(head.lane)
            waiting = deque(taken)
            workers = min(PARALLEL_SENDS, len(taken))
            done = await asyncio.gather(*(self._work_through(waiting, fresh) for _ in range(workers)))
            moved = set().union(*(lanes for lanes, _ in done))
            stuck |= {head.lane for head in taken if head.lane not in moved}

    @property
    def sending(self) -> bool:
        """Whether a lane is being worked on (a message on its way, or paced)."""
        return not self._idle.is_set()

    async def answers_out(self, within: float) -> None:
        """Wait until the answers being sent are out (sent, given up, or waiting for a retry),
        `within` seconds at most; other messages (a fan-out) are not waited for."""
        if not self._answered.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), within)

    def send_now(self, heads: list[OutboxMessage]) -> None:
        """Messages just written that head their lanes: send them at once, without looking for
        them first (the fast path of an answer); a lane already at work picks them up itself.
        Up to PARALLEL_SENDS senders for answers and BULK_SENDERS for all else take them up in
        turn (`_handed_over`); the rest wait as rows, not each as a task waiting for a send slot
        (a fan-out's copies take BULK_SENDS slots: the other senders are noting theirs as sent)."""
        for row in heads:
            if row.lane in self._busy or not self._started:
                self.wake()
                continue
            self._take(row.lane)  # now, so a second head of the lane waits its turn
            answer = row.lane.startswith(ANSWER_LANE)
            self._handed[answer].append(row)
            if self._senders[answer] < (PARALLEL_SENDS if answer else BULK_SENDERS):
                self._senders[answer] += 1
                task = _background(self._handed_over(answer))
                self._lanes.add(task)
                task.add_done_callback(self._lanes.discard)

    async def _handed_over(self, answers: bool) -> None:
        """Send the lanes handed to `send_now` (answers, or all else), one after another while
        any wait; a lane stopped by an error is looked at again by the next round."""
        try:
            _, failed = await self._work_through(self._handed[answers])
            if failed:
                self.wake()
        finally:
            self._senders[answers] -= 1

    async def _work_through(self, heads: deque[OutboxMessage], fresh: bool = True) -> tuple[set[str], bool]:
        """Send the lanes of `heads` (taken already) one after another while any wait, from
        their heads as read when `fresh` (else read again); the lanes where an attempt was made,
        and whether a lane stopped on an error (logged; what is not noted as sent stays pending)."""
        moved: set[str] = set()
        failed = False
        while heads:
            row = heads.popleft()
            try:
                if await self._lane(row.lane, first=row if fresh else None):
                    moved.add(row.lane)
            except Fenced:
                log.warning("outbox message %s: not noted, this instance is no longer the active one", row.id)
            except Exception as exc:
                failed = True
                if is_transient(exc):  # the database is away for now: the next rounds find it
                    log.warning("outbox message %s: database unavailable (%s)", row.id, describe(exc))
                else:
                    log.exception("outbox message %s: its lane stopped; it is looked at again", row.id)
        return moved, failed

    async def _lane(self, lane: str, first: OutboxMessage | None = None) -> bool:
        """Send a lane's messages (the lane taken already) in order until it is empty or its next
        one must wait; True when at least one attempt was made."""
        tried = False
        try:
            row = first
            if row is None:
                async with self.db.transaction() as s:
                    row = await outbox.head_of(s, lane)
            while row is not None:
                if row.next_attempt_at is not None and row.next_attempt_at > self.clock():
                    return tried
                outcome, row = await self._deliver(row)
                tried = tried or outcome is not None
                if not outcome:
                    return tried
            return tried
        finally:
            self._busy.discard(lane)
            self._finished += 1
            if not self._busy:
                self._idle.set()
                self.settled()
            if not any(busy.startswith(ANSWER_LANE) for busy in self._busy):
                self._answered.set()

    def _take(self, lane: str) -> None:
        """Mark `lane` as being worked on."""
        self._busy.add(lane)
        self._idle.clear()
        if lane.startswith(ANSWER_LANE):
            self._answered.clear()

    async def _deliver(self, row: OutboxMessage) -> tuple[bool | None, OutboxMessage | None]:
        """One attempt, and the lane's next message: True when the lane may go on (sent, or given
        up), False when it must wait for a retry, None when the message waits for another one."""
        try:
            async with self._slot(row):
                room_id, event_id = await self._send(row)
        except _Waiting:
            return None, None
        except Fenced:
            log.warning("outbox message %s: not sent, this instance is no longer the active one", row.id)
            return False, None
        except Exception as exc:
            if not await self._failed_attempt(row, exc):
                return False, None
            async with self.db.transaction() as s:
                return True, await outbox.head_of(s, row.lane)
        async with self.db.transaction() as s:
            await outbox.mark_sent(s, row, event_id, room_id, self.clock())
            following = await outbox.head_of(s, row.lane)
        self.observe("sent")
        return True, following

    @contextlib.asynccontextmanager
    async def _slot(self, row: OutboxMessage) -> AsyncIterator[None]:
        """A send slot: an answer takes one of PARALLEL_SENDS, any other message one of BULK_SENDS
        first (a fan-out to hundreds cannot keep answers waiting for a slot)."""
        if row.lane.startswith(ANSWER_LANE):
            async with self._sends:
                yield
        else:
            async with self._bulk_sends, self._sends:
                yield

    async def _send(self, row: OutboxMessage) -> tuple[str, str]:
        content: dict[str, Any] = json.loads(row.content)
        if row.thread_of:
            async with self.db.transaction() as s:
                status, root = await outbox.sent_event_of(s, row.thread_of)
            if root is None:
                if status == "pending":
                    raise _Waiting  # its root goes first (it is earlier in the same lane)
                raise MatrixError(f"the thread root {row.thread_of} was not posted", 400)
            relates = content.get("m.relates_to") or {}
            if relates.get("rel_type") in ("m.annotation", "m.reference"):  # a reaction on it, a reference to it
                relates["event_id"] = root
            else:
                content["m.relates_to"] = relation(thread_root=root)
        room_id = await self._room_of(row)
        fill_in = self.features.fill_in.get(row.event_type)
        if fill_in is not None:  # completed from the homeserver as it is now
            content = await fill_in(self.sender, room_id, content, voice_of(self.config, self.clock()))
        if row.attachment is not None:
            info = content.get("info", {})
            self._check_fence()
            content.update(
                await self.sender.upload(
                    room_id, row.attachment, info.get("mimetype", ""), content.get("filename", "file")
                )
            )
        self._check_fence()
        if row.state_key is not None:  # setting state is idempotent: a retry sets it again
            return room_id, await self.sender.put_state(room_id, row.event_type, content, row.state_key)
        event_id = await self.sender.send(room_id, content, outbox_tx_id(row), row.event_type)
        return room_id, event_id

    def _check_fence(self) -> None:
        """Raise Fenced unless this instance is still the active one: checked right before each
        write to the homeserver, since a send under way may outlast the lock it began under."""
        if not self.db.fence():
            raise Fenced("this instance is no longer the active one")

    async def _room_of(self, row: OutboxMessage) -> str:
        """Where a message goes: the person's direct chat, the room a feature's stand-in names
        (made on its first message: the lane sends one message at a time, and a retry after a crash
        finds the room made before), or the room named."""
        if row.user_id:
            self._check_fence()
            return await self.sender.direct_room(row.user_id)
        room_id = str(row.room_id)
        stand_ins = self.features.stand_in(room_id)
        if stand_ins is None:
            return room_id
        async with self.db.transaction() as s:
            found = await stand_ins.room(s, room_id)
        if found is None:
            raise MatrixError(f"what {room_id} stood for no longer exists", 404)
        if isinstance(found, str):
            return found
        self._check_fence()
        made = await self.sender.group_room(found.user_ids, found.name, found.key)
        async with self.db.transaction() as s:
            await stand_ins.made(s, room_id, made)
        return made

    async def _failed_attempt(self, row: OutboxMessage, exc: Exception) -> bool:
        """Note a failed attempt: a retry later, or (a final refusal, or too late) failed for good
        and reported. A room where the bot may not post is left once its inviter has been told."""
        unheard = self._may_not_post(row, exc)
        leave = unheard if unheard is not None and unheard not in self._leaving else None
        if leave is not None:
            self._leaving.add(leave)
        outcome: str | None = None
        try:
            invitation = None if leave is None else await self._invitation(leave)
            async with self.db.transaction() as s:
                outcome = await self._note_failure(s, row, exc, unheard, invitation)
        finally:
            if leave is not None and outcome != "failed":
                self._leaving.discard(leave)  # not told: left when it fails again
        if outcome is None:
            return True  # no longer there
        log.warning(
            "outbox message %s (%s): %s (attempt %d): %s",
            row.id,
            row.key.split(":", 1)[0],
            outcome,
            row.attempts + 1,
            error_of(exc),
        )
        self.observe(outcome)
        if leave is not None and outcome == "failed":
            await self._leave(leave)
        return outcome == "failed"

    async def _note_failure(
        self, s: AsyncSession, row: OutboxMessage, exc: Exception, unheard: str | None, invitation: Invitation | None
    ) -> str | None:
        """Mark the message for a retry ("retry"), or failed and reported ("failed"), telling
        `invitation`'s inviter that the bot leaves the room `unheard`; None when the message is gone."""
        now = self.clock()
        fresh = await outbox.get(s, row.id or 0)
        if fresh is None:
            return None
        temporary = not isinstance(exc, MatrixError) or exc.temporary
        error = error_of(exc)
        next_at = now + retry_delay(fresh.attempts + 1)
        if temporary and next_at < fresh.expires_at:
            await outbox.mark_retry(s, fresh, error, next_at)
            return "retry"
        await outbox.mark_failed(s, fresh, error if not temporary else f"gave up: {error}")
        await self._report(s, fresh, now, cause_of(exc), unheard)
        if invitation is not None and unheard is not None:
            await self._tell_inviter(s, invitation, unheard, now)
        return "failed"

    def _may_not_post(self, row: OutboxMessage, exc: Exception) -> str | None:
        """The room of a message the homeserver refused because the bot may not post there (its
        power level, as of the last sync, below what m.room.message needs), if that is so."""
        forbidden = isinstance(exc, MatrixError) and exc.errcode == "M_FORBIDDEN"
        if not forbidden or row.user_id or not row.room_id or self.sender.may_post(row.room_id):
            return None
        return row.room_id

    async def _invitation(self, room_id: str) -> Invitation | None:
        try:
            return await self.sender.invitation(room_id)
        except Exception:
            log.warning("could not find who invited the bot into %s", room_id, exc_info=True)
            return None

    async def _leave(self, room_id: str) -> None:
        """Leave a room where the bot may not post: nothing it is asked there can be answered."""
        try:
            self._check_fence()
            await self.sender.leave(room_id)
            log.info("left %s, where the bot may not post", room_id)
        except Exception:
            log.warning("could not leave %s, where the bot may not post", room_id, exc_info=True)
        finally:
            self._leaving.discard(room_id)

    async def _report(
        self, s: AsyncSession, row: OutboxMessage, now: datetime, cause: str, unheard: str | None
    ) -> None:
        """Tell the coordinators (and, for a planned message, the session's creator) by direct
        message that a message could not be delivered: each of them once a day for each room (or
        direct chat) and cause, however many messages fail there (it is the same trouble); the
        reports' keys say so, and the outbox keeps them. `unheard`: the room where the bot may not
        post."""
        if row.key.startswith("report:"):
            return  # a report that cannot be delivered is not reported again
        voice = voice_of(self.config, now)
        people = set(self.config.roles.coordinators)
        planned = await planned_row(s, row.records)
        session = await sessions.get_session(s, planned.session_id) if planned and planned.session_id else None
        if planned and session:
            people.add(session.created_by)
            message = voice.t(
                "planned.report_failed",
                kind=voice.t(f"planned.kind_{planned.kind}"),
                ref=ref(session.id),
                title=session.title,
                due=voice.short(planned.due_at),
            )
        elif unheard is not None:
            message = voice.t("outbox.report_may_not_post", room=self.sender.room_name(unheard), room_id=unheard)
        else:
            where = row.room_id or voice.t("outbox.direct_message").plain
            message = voice.t("outbox.report_failed", where=where, created=voice.short(row.created_at))
        grouped = f"report:{row.room_id or row.lane}:{cause}:{now.astimezone(self.config.timezone).date()}"
        for person in sorted(people - {FORGOTTEN, row.user_id}):
            content = message_content(message, notice=False, mentions=(person,))
            await outbox.enqueue(s, Outgoing(f"{grouped}:{person}", content, user_id=person), now, now + NOTICE_TTL)
        self.wake()

    async def _tell_inviter(self, s: AsyncSession, invitation: Invitation, room_id: str, now: datetime) -> None:
        """Tell the one who invited the bot into a room where it may not post that it leaves (once
        for the invitation)."""
        voice = voice_of(self.config, now)
        message = voice.t("outbox.leaving_may_not_post", room=self.sender.room_name(room_id))
        content = message_content(message, notice=False, mentions=(invitation.inviter,))
        told = Outgoing(f"may-not-post:{invitation.event_id}", content, user_id=invitation.inviter)
        await outbox.enqueue(s, told, now, now + NOTICE_TTL)


class _Waiting(Exception):
    """The message depends on one not sent yet."""


def _background(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """A task that does not inherit the caller's open transaction (or anything else of its context)."""
    return asyncio.get_running_loop().create_task(coroutine, context=contextvars.Context())
