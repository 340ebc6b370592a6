"""APScheduler wiring: jobs derived from the planned messages in the database.

The database is the source of truth. Every pending row has one date job (`planned-<id>`),
added at start and again whenever its session changes; a periodic sweep delivers anything
pending and overdue that no job covered. A message is sent with a transaction id derived from
its row, and marked sent only once the homeserver has accepted it, so a retry after a crash
never posts twice (Synapse keeps transaction ids per device, and the bot keeps its device).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from bot.context import Outbox, voice_of
from bot.matrix import MatrixError
from rules.content import digest, edit_content, message_content, transaction_id
from rules.planned_content import announcement, render
from rules.sessions import ref
from rules.timing import Kind, Verdict, decide, retry_delay
from storage import people, planned, qa, registrations, sessions, state
from storage.db import Database
from storage.models import PlannedMessage, PlannedStatus, SessionStatus
from storage.planned import plan_dm_reminders, skip
from storage.rows import save

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=30)
PRUNE_EVERY = timedelta(hours=6)
KEEP_HANDLED = timedelta(days=30)
MAX_ATTEMPTS = 5
EDIT_DEBOUNCE = 1.0  # seconds: many registrations in a row give one edit of the announcement
STOP_WAIT = 10.0  # seconds a delivery under way may take to finish when the bot stops


def job_id(planned_id: int) -> str:
    return f"planned-{planned_id}"


def planned_tx_id(row: PlannedMessage) -> str:
    return transaction_id("planned", row.key, str(row.revision))


class Scheduler:
    """Delivers planned messages on time, exactly once, and keeps announcements current."""

    def __init__(
        self, config: Config, db: Database, outbox: Outbox, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.config = config
        self.db = db
        self.outbox = outbox
        self.clock = clock
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._in_flight: set[int] = set()
        self._edits_waiting: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._delivering: set[asyncio.Task[object]] = set()

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    async def start(self) -> None:
        """Start APScheduler and add a job for every pending message; overdue ones run at once."""
        self._aps.start()
        self._aps.add_job(
            self.sweep,
            "interval",
            seconds=SWEEP_EVERY.total_seconds(),
            id="sweep",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self._aps.add_job(
            self.prune,
            "interval",
            seconds=PRUNE_EVERY.total_seconds(),
            id="prune",
            coalesce=True,
            max_instances=1,
            next_run_time=self.clock(),
        )
        await self.reload()

    async def stop(self) -> None:
        """Stop planning; let deliveries under way finish (a little while at most)."""
        if self._aps.running:
            self._aps.shutdown(wait=False)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._delivering:
            await asyncio.wait(self._delivering, timeout=STOP_WAIT)

    def changed(self, session_id: int) -> None:
        """A session or its plans changed: derive its jobs again and refresh its announcement."""
        if not self.running:
            return  # start() derives every job anyway
        self._spawn(self.reload(session_id))
        self.places_changed(session_id)

    def places_changed(self, session_id: int) -> None:
        """Registrations changed: refresh the announcement a moment later (many changes, one edit)."""
        if self.running and session_id not in self._edits_waiting:
            self._edits_waiting.add(session_id)
            self._spawn(self._refresh_later(session_id))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self, session_id: int | None = None) -> None:
        """(Re)place the date jobs of all pending messages (of one session)."""
        async with self.db.transaction() as s:
            rows = await planned.pending(s, session_id=session_id)
        for row in rows:
            if row.id not in self._in_flight:  # being delivered right now: a refusal plans its own retry
                self._add_job(row)

    def _add_job(self, row: PlannedMessage) -> None:
        assert row.id is not None
        run_at = max(row.due_at, row.next_attempt_at or row.due_at)
        self._aps.add_job(
            self.deliver,
            "date",
            run_date=run_at,
            args=[row.id],
            id=job_id(row.id),
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def sweep(self) -> None:
        """Deliver whatever is pending and overdue (a safety net under the jobs)."""
        async with self.db.transaction() as s:
            rows = await planned.pending(s, due_by=self.clock())
        for row in rows:
            if row.id is not None:
                await self.deliver(row.id)

    async def prune(self) -> None:
        """Forget old answered events, and the personal data of sessions past the retention period."""
        now = self.clock()
        async with self.db.transaction() as s:
            await state.prune_handled(s, now - KEEP_HANDLED)
            purged = await people.purge_ended(s, now - timedelta(days=self.config.retention_days))
        if purged:
            log.info("deleted the personal data of %d sessions older than %d days", purged, self.config.retention_days)

    async def deliver(self, planned_id: int) -> None:
        """Send one planned message if it is (still) due; never raises."""
        if planned_id in self._in_flight:
            return
        self._in_flight.add(planned_id)
        task = asyncio.current_task()
        if task:
            self._delivering.add(task)
        try:
            await self._deliver(planned_id)
        except Exception:
            log.exception("planned message %s: delivery failed", planned_id)
        finally:
            self._in_flight.discard(planned_id)
            self._delivering.discard(task)  # type: ignore[arg-type]

    async def _deliver(self, planned_id: int) -> None:
        now = self.clock()
        fan_out = False
        async with self.db.transaction() as s:
            row = await planned.planned(s, planned_id)
            if row is None or row.status != PlannedStatus.PENDING or row.due_at > now:
                return
            if row.next_attempt_at and row.next_attempt_at > now:
                return
            summary = await sessions.session_summary(s, row.session_id)
            assert summary is not None
            session = summary.session
            kind = Kind(row.kind)
            decision = decide(
                kind, row.due_at, now, self.config.grace, session.starts_at, session.status == SessionStatus.SCHEDULED
            )
            if decision.verdict != Verdict.SEND:
                skip(row, decision.verdict)
                await save(s, row)
            else:
                if kind == Kind.REMINDER:
                    await plan_dm_reminders(s, row, session, now)
                    fan_out = True
                protocol = kind == Kind.PROTOCOL
                registered = await registrations.registered_user_ids(s, session.number) if protocol else []
                questions = await qa.qa_summary(s, session.number) if protocol else None
                outgoing = render(
                    kind,
                    row.payload,
                    summary,
                    voice_of(self.config, now),
                    decision.late,
                    row.user_id,
                    registered,
                    questions,
                )
        if decision.verdict != Verdict.SEND:
            log.info("planned message %s (%s): skipped, %s", planned_id, row.kind, decision.verdict)
            if session.status == SessionStatus.SCHEDULED:
                await self._report(row, session.number, session.title, session.created_by)
            return
        if fan_out:
            await self.reload(session.id)
        content = message_content(outgoing.message, notice=outgoing.notice, mentions=outgoing.mentions)
        try:
            room_id = row.room_id or await self.outbox.direct_room(str(row.user_id))
            event_id = await self.outbox.send(room_id, content, planned_tx_id(row))
        except MatrixError as exc:
            await self._refused(planned_id, str(exc), now)
            return
        except Exception as exc:  # the homeserver is away: the sweep tries again, no attempt counted
            log.warning("planned message %s: homeserver not reachable (%s)", planned_id, type(exc).__name__)
            return
        async with self.db.transaction() as s:
            sent = await planned.planned(s, planned_id)
            assert sent is not None
            sent.status, sent.sent_event_id, sent.sent_at = PlannedStatus.SENT, event_id, now
            sent.late, sent.content_digest, sent.next_attempt_at = decision.late, digest(content), None
            await save(s, sent)
        log.info("planned message %s (%s): sent%s", planned_id, row.kind, " late" if decision.late else "")

    async def _refused(self, planned_id: int, error: str, now: datetime) -> None:
        """The homeserver refused the message: try again later, give up after MAX_ATTEMPTS."""
        async with self.db.transaction() as s:
            row = await planned.planned(s, planned_id)
            assert row is not None
            row.attempts += 1
            row.last_error = error[:300]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = PlannedStatus.FAILED
            else:
                row.next_attempt_at = now + retry_delay(row.attempts)
            await save(s, row)
            session = await sessions.get_session(s, row.session_id)
        log.warning("planned message %s (%s): refused (attempt %d): %s", planned_id, row.kind, row.attempts, error)
        if row.status == PlannedStatus.FAILED and session:
            await self._report(row, session.number, session.title, session.created_by)
        else:
            self._add_job(row)

    async def _report(self, row: PlannedMessage, session_id: int, title: str, creator: str) -> None:
        """Tell the coordinators (by direct message) about a message that did not go out."""
        voice = voice_of(self.config, self.clock())
        message = voice.t(
            f"planned.report_{row.status}",
            kind=voice.t(f"planned.kind_{row.kind}"),
            ref=ref(session_id),
            title=title,
            due=voice.short(row.due_at),
        )
        for coordinator in sorted({*self.config.roles.coordinators, creator} - {people.FORGOTTEN}):
            try:
                room_id = await self.outbox.direct_room(coordinator)
                await self.outbox.send(
                    room_id,
                    message_content(message, notice=False, mentions=(coordinator,)),
                    transaction_id("report", row.key, str(row.revision), coordinator),
                )
            except Exception:
                log.warning("could not tell a coordinator about planned message %s", row.id, exc_info=True)
                log.debug("planned message %s: the coordinator not told is %s", row.id, coordinator)

    async def _refresh_later(self, session_id: int) -> None:
        await asyncio.sleep(EDIT_DEBOUNCE)
        self._edits_waiting.discard(session_id)
        try:
            await self.refresh_announcement(session_id)
        except Exception:
            log.warning("could not update the announcement of session %s", session_id, exc_info=True)

    async def refresh_announcement(self, session_id: int) -> None:
        """Edit the session's latest announcement (without pinging anyone) if what it says changed."""
        now = self.clock()
        async with self.db.transaction() as s:
            row = await planned.latest_announcement(s, session_id)
            summary = await sessions.session_summary(s, session_id)
        if row is None or summary is None or row.sent_event_id is None or row.room_id is None:
            return
        content = message_content(announcement(voice_of(self.config, now), summary), notice=False)
        fingerprint = digest(content)
        if fingerprint == row.content_digest:
            return
        await self.outbox.send(
            row.room_id,
            edit_content(row.sent_event_id, content),
            transaction_id("edit", row.sent_event_id, fingerprint),
        )
        async with self.db.transaction() as s:
            latest = await planned.planned(s, row.id or 0)
            if latest is not None:
                latest.content_digest = fingerprint
                await save(s, latest)
