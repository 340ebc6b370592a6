"""APScheduler wiring: jobs derived from the planned messages in the database.

The database is the source of truth. Every pending row has one date job (`planned-<id>`),
added at start and again whenever its session changes; a periodic sweep hands over anything
pending and overdue that no job covered. Handing over renders the message and writes it into the
outbox in the transaction that marks the row sent, so it goes out exactly once; the deliverer
(`bot.deliverer`) retries it until it lands and notes its event id on the row.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, voice_of
from bot.config import Config
from rules.board import EntryState, entry_ref, expiry_due, renewal_reminder_due
from rules.content import annotation, digest, edit_content, message_content
from rules.feedback import DIGITS
from rules.planned_content import announcement, render
from rules.sessions import SessionSummary, ref
from rules.timing import BEFORE_SESSION, Kind, Verdict, decide
from storage import board, feedback, outbox, people, planned, purge, qa, registrations, sessions, state
from storage.db import Database
from storage.models import OutboxMessage, PlannedMessage, PlannedStatus, Session, SessionStatus
from storage.outbox import Outgoing
from storage.planned import plan_dm_reminders, skip
from storage.rows import save

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=30)
PRUNE_EVERY = timedelta(hours=6)
PRUNE_AFTER_START = timedelta(minutes=1)  # the first pruning, out of the way of the first answers
KEEP_HANDLED = timedelta(days=30)
MIN_TTL = timedelta(hours=1)  # a planned message handed over late still gets this long to land
EDIT_DEBOUNCE = 1.0  # seconds: many registrations in a row give one edit of the announcement
STOP_WAIT = 10.0  # seconds a delivery under way may take to finish when the bot stops
PREPARE_AHEAD = timedelta(minutes=5)  # direct rooms for a reminder's copies are made this long before it
# Jobs are placed for the messages due within this time (the sweeps bring the later ones within
# reach): a start with thousands of planned messages places a handful, not all of them.
HORIZON = PREPARE_AHEAD + timedelta(minutes=5)
Prepare = Callable[[list[str]], Awaitable[None]]  # make sure these people have a direct room, keys shared


async def _nobody(_: list[str]) -> None:
    return None


def job_id(planned_id: int) -> str:
    return f"planned-{planned_id}"


def planned_key(row: PlannedMessage) -> str:
    """The outbox key of a planned message as sent (a re-planned message is a new one)."""
    return f"planned:{row.key}:{row.revision}"


class Scheduler:
    """Hands planned messages to the outbox on time, exactly once, and keeps announcements current."""

    def __init__(
        self,
        config: Config,
        db: Database,
        wake: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        prepare: Prepare = _nobody,
        send_now: Callable[[list[OutboxMessage]], None] | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.wake = wake  # the outbox has news
        # messages just written that head their lanes: sent at once (by default: looked for)
        self.send_now = send_now or (lambda _: wake())
        self.clock = clock
        self.prepare = prepare
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._in_flight: set[int] = set()
        self._edits_waiting: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._delivering: set[asyncio.Task[object]] = set()

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    async def start(self) -> None:
        """Start APScheduler and add a job for every pending message due within the HORIZON;
        overdue ones run at once."""
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
            next_run_time=self.clock() + PRUNE_AFTER_START,
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
        # A context of its own: never the transaction of a handler that asked for it.
        task = asyncio.get_running_loop().create_task(coroutine, context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self, session_id: int | None = None) -> None:
        """(Re)place the date jobs of the pending messages (of one session) due within the HORIZON."""
        async with self.db.transaction() as s:
            rows = await planned.pending(s, session_id=session_id, due_by=self.clock() + HORIZON)
        for row in rows:
            if row.id not in self._in_flight:  # being handed over right now
                self._add_job(row)

    def _add_job(self, row: PlannedMessage) -> None:
        assert row.id is not None
        run_at = row.due_at
        self._aps.add_job(
            self.deliver,
            "date",
            run_date=run_at,
            args=[row.id],
            id=job_id(row.id),
            replace_existing=True,
            misfire_grace_time=None,
        )
        if row.kind == Kind.REMINDER:
            self._aps.add_job(
                self.prepare_direct_rooms,
                "date",
                run_date=max(run_at - PREPARE_AHEAD, self.clock()),
                args=[row.session_id],
                id=f"prepare-{row.id}",
                replace_existing=True,
                misfire_grace_time=None,
            )

    async def prepare_direct_rooms(self, session_id: int) -> None:
        """Before a reminder is due, make the direct rooms (and share their keys) of those who get
        it by direct message: at its time it is then only sent, side by side. Never raises."""
        try:
            async with self.db.transaction() as s:
                user_ids = await registrations.dm_reminder_user_ids(s, session_id)
            await self.prepare(user_ids)
        except Exception:
            log.warning("could not prepare the direct rooms for the reminder of session %s", session_id, exc_info=True)

    async def sweep(self) -> None:
        """Deliver whatever is pending and overdue (a safety net under the jobs), and place the
        jobs of the messages that came within the HORIZON."""
        now = self.clock()
        async with self.db.transaction() as s:
            rows = await planned.pending(s, due_by=now + HORIZON)
        for row in rows:
            if row.id is None:
                continue
            if row.due_at <= now:
                await self.deliver(row.id)
            elif row.id not in self._in_flight and self._aps.get_job(job_id(row.id)) is None:
                self._add_job(row)  # placed once: a reminder's preparation is not repeated

    async def prune(self) -> None:
        """Forget old answered events, and the personal data of sessions past the retention period."""
        now = self.clock()
        async with self.db.transaction() as s:
            await state.prune_handled(s, now - KEEP_HANDLED)
            purged = await purge.purge_ended(s, now - timedelta(days=self.config.retention_days))
        if purged:
            log.info("deleted the personal data of %d sessions older than %d days", purged, self.config.retention_days)

    async def deliver(self, planned_id: int) -> None:
        """Send one planned message if it is (still) due; never raises."""
        if planned_id in self._in_flight:
            return
        self._in_flight.add(planned_id)
        task = asyncio.current_task()
        if task is not None:
            self._delivering.add(task)
        try:
            await self._deliver(planned_id)
        except Exception:
            log.exception("planned message %s: delivery failed", planned_id)
        finally:
            self._in_flight.discard(planned_id)
            if task is not None:
                self._delivering.discard(task)

    async def _deliver(self, planned_id: int) -> None:
        """Hand a due message to the outbox (rendered from the session as it is now), or skip it.
        A room reminder takes its copies by direct message along, in the same transaction."""
        now = self.clock()
        async with self.db.transaction() as s:
            row = await planned.planned(s, planned_id)
            if row is None or row.status != PlannedStatus.PENDING or row.due_at > now:
                return
            if row.entry_id is not None:
                await self._board_message(s, row, row.entry_id, now)
                self.wake()
                return
            assert row.session_id is not None
            summary = await sessions.session_summary(s, row.session_id)
            assert summary is not None
            kind = Kind(row.kind)
            if kind == Kind.REMINDER:
                await plan_dm_reminders(s, row, summary.session, now)
            handed, written = await self._hand_over(s, [row], summary, now)
            if handed and kind == Kind.REMINDER:
                copies = await planned.pending(s, session_id=row.session_id, due_by=now)
                dms, dm_messages = await self._hand_over(
                    s, [c for c in copies if c.kind == Kind.REMINDER_DM], summary, now
                )
                handed, written = handed + dms, written + dm_messages
            heads = await outbox.lane_heads_among(s, written)
        if kind in (Kind.REMINDER, Kind.FEEDBACK):
            await self.reload(summary.session.number)
        if handed:
            self.send_now(heads)
        for done in handed:
            log.info(
                "planned message %s (%s): handed to the outbox%s", done.id, done.kind, " late" if done.late else ""
            )

    async def _hand_over(
        self, s: AsyncSession, rows: list[PlannedMessage], summary: SessionSummary[Session], now: datetime
    ) -> tuple[list[PlannedMessage], list[OutboxMessage]]:
        """Write the due messages `rows` (with what goes along) into the outbox and mark them sent,
        or skip them (telling the coordinators); those handed over, and the outbox rows written. A
        reminder's copies by direct message go together: their messages in one statement, their
        marks in another. The feedback row sends nothing itself: it plans the question to each
        registered person."""
        session = summary.session
        scheduled = session.status == SessionStatus.SCHEDULED
        handed: list[PlannedMessage] = []
        messages: list[tuple[Outgoing, datetime]] = []
        for row in rows:
            kind = Kind(row.kind)
            decision = decide(kind, row.due_at, now, self.config.grace, session.starts_at, scheduled)
            if decision.verdict != Verdict.SEND:
                skip(row, decision.verdict)
                await save(s, row)
                if scheduled:
                    await self._report(s, row, session.number, session.title, session.created_by, now)
                log.info("planned message %s (%s): skipped, %s", row.id, row.kind, decision.verdict)
                continue
            if kind == Kind.FEEDBACK:
                asked = await registrations.registered_user_ids(s, session.number)
                await planned.plan_feedback_questions(s, session, asked, now)
            else:
                rendered, row.content_digest = await self._messages(s, row, summary, decision.late, now)
                messages += rendered
            row.status, row.sent_at, row.late = PlannedStatus.SENT, now, decision.late
            s.add(row)
            handed.append(row)
        written = await outbox.enqueue_all(s, messages, now)
        await s.flush()  # the marks of all rows handed over, as one statement
        return handed, written

    async def _messages(
        self, s: AsyncSession, row: PlannedMessage, summary: SessionSummary[Session], late: bool, now: datetime
    ) -> tuple[list[tuple[Outgoing, datetime]], str]:
        """A planned message rendered from the session as it is now, with what goes along (each
        with its expiry), and the digest of what it says."""
        session, kind = summary.session, Kind(row.kind)
        protocol = kind == Kind.PROTOCOL
        registered = await registrations.registered_user_ids(s, session.number) if protocol else []
        questions = await qa.qa_summary(s, session.number) if protocol else None
        rated = await feedback.feedback_totals(s, session.number) if protocol else None
        outgoing = render(kind, row.payload, summary, voice_of(self.config, now), late, row.user_id, questions, rated)
        content = message_content(outgoing.message, notice=outgoing.notice, mentions=outgoing.mentions)
        makes_sense_until = session.starts_at if kind in BEFORE_SESSION else now + NOTICE_TTL
        message = Outgoing(
            planned_key(row), content, room_id=row.room_id, user_id=row.user_id, records=f"planned:{row.id}"
        )
        messages = [(message, max(makes_sense_until, now + MIN_TTL))]
        if kind == Kind.FEEDBACK_DM:  # the digits to answer with, as the bot's reactions on the question
            messages += [
                (
                    Outgoing(
                        f"{message.key}:{digit}",
                        annotation(digit),
                        user_id=row.user_id,
                        event_type="m.reaction",
                        thread_of=message.key,
                    ),
                    now + NOTICE_TTL,
                )
                for digit in DIGITS
            ]
        for person in registered:  # the protocol also reaches each registered person privately
            personal = message_content(outgoing.message, notice=False, mentions=(person,))
            messages.append((Outgoing(f"{message.key}:dm:{person}", personal, user_id=person), now + NOTICE_TTL))
        return messages, digest(content)

    async def _board_message(self, s: AsyncSession, row: PlannedMessage, entry_id: int, now: datetime) -> None:
        """A board entry's reminder to renew it (by direct message to its author), or its expiry
        (its card shows it expired, its author is told). Skipped when the entry was closed,
        renewed or deleted meanwhile (see `rules.board`)."""
        entry = await board.entry(s, entry_id)
        kind = Kind(row.kind)
        due = entry is not None and (
            renewal_reminder_due(entry.state, entry.expires_at, now)
            if kind == Kind.BOARD_RENEWAL
            else expiry_due(entry.state, entry.expires_at, now)
        )
        if entry is None or not due:
            skip(row, "board_closed")
            await save(s, row)
            log.info("planned message %s (%s): skipped, no longer due", row.id, row.kind)
            return
        voice = voice_of(self.config, now)
        about = {"ref": entry_ref(entry.id), "title": entry.title}
        if kind == Kind.BOARD_RENEWAL:
            message = voice.t("board.renew_reminder", **about, until=voice.short(entry.expires_at))
            makes_sense_until = entry.expires_at
        else:
            await board.set_entry_state(s, entry, EntryState.EXPIRED, now)
            edit = board.card_edit(voice, entry, f"edit:{planned_key(row)}")
            if edit is not None:
                await outbox.enqueue(s, edit, now, now + NOTICE_TTL)
            message = voice.t("board.expired", **about)
            makes_sense_until = now + NOTICE_TTL
        content = message_content(message, notice=False, mentions=(entry.author,))
        outgoing = Outgoing(planned_key(row), content, user_id=entry.author, records=f"planned:{row.id}")
        await outbox.enqueue(s, outgoing, now, max(makes_sense_until, now + MIN_TTL))
        row.status, row.sent_at = PlannedStatus.SENT, now
        await save(s, row)
        log.info("planned message %s (%s): handed to the outbox", row.id, row.kind)

    async def _report(
        self, s: AsyncSession, row: PlannedMessage, session_id: int, title: str, creator: str, now: datetime
    ) -> None:
        """Tell the coordinators (by direct message) about a message that will not go out."""
        voice = voice_of(self.config, now)
        message = voice.t(
            f"planned.report_{row.status}",
            kind=voice.t(f"planned.kind_{row.kind}"),
            ref=ref(session_id),
            title=title,
            due=voice.short(row.due_at),
        )
        for coordinator in sorted({*self.config.roles.coordinators, creator} - {people.FORGOTTEN}):
            content = message_content(message, notice=False, mentions=(coordinator,))
            key = f"report:{planned_key(row)}:{coordinator}"
            await outbox.enqueue(s, Outgoing(key, content, user_id=coordinator), now, now + NOTICE_TTL)
        self.wake()

    async def _refresh_later(self, session_id: int) -> None:
        await asyncio.sleep(EDIT_DEBOUNCE)
        self._edits_waiting.discard(session_id)
        try:
            await self.refresh_announcement(session_id)
        except Exception:
            log.warning("could not update the announcement of session %s", session_id, exc_info=True)

    async def refresh_announcement(self, session_id: int) -> None:
        """Edit the session's latest announcement (without pinging anyone) if what it says changed.

        Each edit is an outbox message of its own, so an edit that says what an earlier one said
        (full, a place free, full again) is not taken for a repeat of it."""
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
            key = f"edit:{planned_key(row)}:{now.timestamp()}"
            edit = Outgoing(key, edit_content(row.sent_event_id, content), room_id=row.room_id)
            await outbox.enqueue(s, edit, now, max(summary.session.ends_at, now + MIN_TTL))
            row.content_digest = fingerprint
            await save(s, row)
        self.wake()
