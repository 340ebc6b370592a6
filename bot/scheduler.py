"""APScheduler wiring: jobs derived from the planned messages in the database.

The database is the source of truth. Every pending row has one date job (`planned-<id>`),
added at start and again whenever its session changes; a periodic sweep hands over anything
pending and overdue that no job covered. Handing over renders the message and writes it into the
outbox in the transaction that marks the row sent, so it goes out exactly once; the deliverer
(`bot.deliverer`) retries it until it lands and notes its event id on the row.

A session's own messages (announcements, reminders, protocol, material, follow-ups) are rendered
here; every other kind by the feature that declares it (`bot.features`), which may also add lines
to a session's messages and have work done with the housekeeping.
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
from bot.features import MIN_TTL, Due, Features, Skip, Timed, planned_key
from rules.planned_content import RENDERED, announcement, render
from rules.rendering.content import digest, edit_content, message_content
from rules.sessions import SessionSummary, ref
from rules.timing import BEFORE_SESSION, Kind, Verdict, decide
from storage import outbox, people, planned, registrations, sessions, state
from storage.db import Database
from storage.models import OutboxMessage, PlannedMessage, PlannedStatus, Session, SessionStatus
from storage.outbox import Outgoing
from storage.planned import mark_handed, plan_dm_reminders, skip
from storage.rows import save

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=30)
PRUNE_EVERY = timedelta(hours=6)
PRUNE_AFTER_START = timedelta(minutes=1)  # the first pruning, out of the way of the first answers
# A pruning (one long transaction with years of data) waits until this long after a planned
# message due within that time (before or after): a reminder's fan-out to hundreds, being handed
# over or sent, would wait for it otherwise.
PRUNE_CLEAR_OF = timedelta(minutes=2)
KEEP_HANDLED = timedelta(days=30)
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
        *,
        features: Features | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.features = features or Features()
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

    async def prune(self, step_aside: bool = True) -> None:
        """Forget old answered events, and do the features' periodic work (e.g. deleting the
        personal data of sessions past the retention period) — unless `step_aside` and a planned
        message is (or was) due within PRUNE_CLEAR_OF of now: then once, that long after the last."""
        now = self.clock()
        if step_aside:
            async with self.db.transaction() as s:
                due = await planned.last_due_between(s, now - PRUNE_CLEAR_OF, now + PRUNE_CLEAR_OF)
            if due is not None:
                self._aps.add_job(
                    self.prune,
                    "date",
                    run_date=due + PRUNE_CLEAR_OF,
                    args=[False],
                    id="prune-later",
                    replace_existing=True,
                    misfire_grace_time=None,
                )
                return
        async with self.db.transaction() as s:
            await state.prune_handled(s, now - KEEP_HANDLED)
            for work in self.features.periodic:
                await work(s, self.config, now)

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
        """Hand a due message to the outbox (rendered from what it is about as it is now), or skip
        it. A room reminder takes its copies by direct message along, in the same transaction."""
        now = self.clock()
        async with self.db.transaction() as s:
            row = await planned.planned(s, planned_id)
            if row is None or row.status != PlannedStatus.PENDING or row.due_at > now:
                return
            summary = None if row.session_id is None else await sessions.session_summary(s, row.session_id)
            kind = row.kind
            if kind == Kind.REMINDER and summary is not None:
                await plan_dm_reminders(s, row, summary.session, now)
            handed, written = await self._hand_over(s, [row], summary, now)
            if handed and kind == Kind.REMINDER:
                copies = await planned.pending(s, session_id=row.session_id, due_by=now)
                dms, dm_messages = await self._hand_over(
                    s, [c for c in copies if c.kind == Kind.REMINDER_DM], summary, now
                )
                handed, written = handed + dms, written + dm_messages
            heads = await outbox.lane_heads_among(s, written)
        if handed:  # at once, before a round of the deliverer has to look for them
            self.send_now(heads)
        if summary is not None and (kind == Kind.REMINDER or self._plans_more(kind)):
            await self.reload(summary.session.number)
        for done in handed:
            log.info(
                "planned message %s (%s): handed to the outbox%s", done.id, done.kind, " late" if done.late else ""
            )

    def _plans_more(self, kind: str) -> bool:
        declared = self.features.planned.get(kind)
        return declared is not None and declared.plans_more

    async def _hand_over(
        self, s: AsyncSession, rows: list[PlannedMessage], summary: SessionSummary[Session] | None, now: datetime
    ) -> tuple[list[PlannedMessage], list[OutboxMessage]]:
        """Write the due messages `rows` (of the session `summary`, or of none) with what goes
        along into the outbox and mark them sent, or skip them (telling the coordinators about a
        session's message that came too late); those handed over, and the outbox rows written. A
        reminder's copies by direct message go together: their messages in one statement, their
        marks in another."""
        scheduled = summary is not None and summary.session.status == SessionStatus.SCHEDULED
        handed: list[PlannedMessage] = []
        messages: list[Timed] = []
        for row in rows:
            late = False
            if summary is not None:
                session = summary.session
                decision = decide(Kind(row.kind), row.due_at, now, self.config.grace, session.starts_at, scheduled)
                if decision.verdict != Verdict.SEND:
                    skip(row, decision.verdict)
                    await save(s, row)
                    if scheduled:
                        await self._report(s, row, session.number, session.title, session.created_by, now)
                    log.info("planned message %s (%s): skipped, %s", row.id, row.kind, decision.verdict)
                    continue
                late = decision.late
            rendered = await self._render(s, Due(row, voice_of(self.config, now), late, summary))
            if isinstance(rendered, Skip):
                skip(row, rendered.reason)
                await save(s, row)
                log.info("planned message %s (%s): skipped, %s", row.id, row.kind, rendered.reason)
                continue
            if rendered:
                row.content_digest = digest(rendered[0][0].content)
            messages += rendered
            mark_handed(s, row, now, late)
            handed.append(row)
        written = await outbox.enqueue_all(s, messages, now)
        await s.flush()  # the marks of all rows handed over, as one statement
        return handed, written

    async def _render(self, s: AsyncSession, due: Due) -> list[Timed] | Skip:
        """A due message's outbox messages, rendered here (a session's own) or by its feature."""
        if due.row.kind in RENDERED and due.summary is not None:
            return await self._session_message(s, due, due.summary)
        declared = self.features.planned.get(due.row.kind)
        if declared is None:
            raise LookupError(f"no feature renders planned messages of the kind {due.row.kind}")
        return await declared.render(s, due)

    async def _session_message(self, s: AsyncSession, due: Due, summary: SessionSummary[Session]) -> list[Timed]:
        """A session's own planned message rendered from the session as it is now, with the lines
        features add to it; the protocol also reaches each registered person privately."""
        row, session, kind = due.row, summary.session, Kind(due.row.kind)
        additions = [await add(s, summary, due.voice) for add in self.features.additions(kind)]
        outgoing = render(
            kind, row.payload, summary, due.voice, due.late, row.user_id, [a for a in additions if a is not None]
        )
        content = message_content(outgoing.message, notice=outgoing.notice, mentions=outgoing.mentions)
        makes_sense_until = session.starts_at if kind in BEFORE_SESSION else due.now + NOTICE_TTL
        messages = [due.message(content, makes_sense_until, room_id=row.room_id, user_id=row.user_id)]
        if kind == Kind.PROTOCOL:
            for person in await registrations.registered_user_ids(s, session.number):
                personal = message_content(outgoing.message, notice=False, mentions=(person,))
                messages.append((Outgoing(f"{due.key}:dm:{person}", personal, user_id=person), due.now + NOTICE_TTL))
        return messages

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
