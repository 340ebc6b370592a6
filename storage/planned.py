"""Planned messages: the rows the scheduler delivers, by key, session, status and due time, and
writing them in the same transaction as the change that causes them.

A session's announcements and reminders follow its start time (see `rules.timing`); protocol
links, material and follow-ups are planned once each, under a key that names the command that
asked for them, so a repeated command never plans twice. A board entry's reminder to renew and
its expiry follow its expiry time (see `rules.board`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.board import renewal_due
from rules.timing import (
    BEFORE_SESSION,
    FROM_SCHEDULE,
    Action,
    Existing,
    Kind,
    ScheduleSettings,
    reconcile,
    wanted_slots,
)
from storage.models import (
    BoardEntry,
    PlannedMessage,
    PlannedStatus,
    Session,
    SessionStatus,
)
from storage.registrations import dm_reminder_user_ids
from storage.rows import insert_new_rows, row_id, save


async def planned_by_key(s: AsyncSession, key: str) -> PlannedMessage | None:
    return (await s.exec(select(PlannedMessage).where(PlannedMessage.key == key))).first()


async def planned_of_session(s: AsyncSession, session_id: int, kinds: Iterable[str]) -> list[PlannedMessage]:
    query = (
        select(PlannedMessage)
        .where(PlannedMessage.session_id == session_id, col(PlannedMessage.kind).in_(list(kinds)))
        .order_by(col(PlannedMessage.due_at), col(PlannedMessage.id))
    )
    return list((await s.exec(query)).all())


def _in_room(query, room_id: str | None):  # type: ignore[no-untyped-def]
    """Only planned messages of sessions announced in `room_id` (all when None)."""
    if room_id is None:
        return query
    return query.join(Session, col(Session.id) == col(PlannedMessage.session_id)).where(Session.room_id == room_id)


async def pending(
    s: AsyncSession,
    session_id: int | None = None,
    due_by: datetime | None = None,
    limit: int | None = None,
    room_id: str | None = None,
) -> list[PlannedMessage]:
    """Messages still to send, soonest first (of one session or room, or due by a time)."""
    query = _in_room(select(PlannedMessage).where(PlannedMessage.status == PlannedStatus.PENDING), room_id)
    if session_id is not None:
        query = query.where(PlannedMessage.session_id == session_id)
    if due_by is not None:
        query = query.where(col(PlannedMessage.due_at) <= due_by)
    query = query.order_by(col(PlannedMessage.due_at), col(PlannedMessage.id)).limit(limit)
    return list((await s.exec(query)).all())


async def last_due_between(s: AsyncSession, earliest: datetime, latest: datetime) -> datetime | None:
    """When the last planned message due between `earliest` and `latest` is (or was) due, sent or not."""
    query = select(func.max(PlannedMessage.due_at)).where(
        col(PlannedMessage.due_at) >= earliest, col(PlannedMessage.due_at) <= latest
    )
    return (await s.exec(query)).one()


async def planned(s: AsyncSession, planned_id: int) -> PlannedMessage | None:
    return await s.get(PlannedMessage, planned_id)


async def planned_counts(s: AsyncSession) -> dict[str, int]:
    """How many planned messages there are in each status."""
    query = select(PlannedMessage.status, func.count()).group_by(col(PlannedMessage.status))
    return dict((await s.exec(query)).all())


async def announcement_by_event(s: AsyncSession, event_id: str) -> PlannedMessage | None:
    query = select(PlannedMessage).where(
        PlannedMessage.sent_event_id == event_id, PlannedMessage.kind == "announcement"
    )
    return (await s.exec(query)).first()


async def latest_announcement(s: AsyncSession, session_id: int) -> PlannedMessage | None:
    """The announcement of a session sent last: the one kept current."""
    query = (
        select(PlannedMessage)
        .where(
            PlannedMessage.session_id == session_id,
            PlannedMessage.kind == "announcement",
            PlannedMessage.status == PlannedStatus.SENT,
        )
        .order_by(col(PlannedMessage.sent_at).desc(), col(PlannedMessage.id).desc())
    )
    return (await s.exec(query)).first()


async def troubled(
    s: AsyncSession, since: datetime, limit: int = 20, room_id: str | None = None
) -> list[PlannedMessage]:
    """Messages that were skipped, failed or sent late since `since`, newest first."""
    query = (
        _in_room(select(PlannedMessage), room_id)
        .where(
            col(PlannedMessage.due_at) >= since,
            or_(
                col(PlannedMessage.status).in_([PlannedStatus.SKIPPED, PlannedStatus.FAILED]),
                and_(col(PlannedMessage.status) == PlannedStatus.SENT, col(PlannedMessage.late).is_(True)),
                and_(col(PlannedMessage.status) == PlannedStatus.PENDING, col(PlannedMessage.attempts) > 0),
            ),
        )
        .order_by(col(PlannedMessage.due_at).desc())
        .limit(limit)
    )
    return list((await s.exec(query)).all())


def schedule_key(kind: Kind, session_id: int, slot: str) -> str:
    return f"{kind}:{session_id}:{slot}"


def slot_in(key: str) -> str:
    return key.rsplit(":", 1)[1]


def rearm(row: PlannedMessage, due_at: datetime) -> None:
    """Make a sent or given-up message due again (with a new transaction id)."""
    row.status, row.due_at, row.revision = PlannedStatus.PENDING, due_at, row.revision + 1
    row.attempts, row.last_error, row.late, row.sent_event_id, row.sent_at = 0, None, False, None, None


async def plan_session(s: AsyncSession, session: Session, settings: ScheduleSettings, now: datetime) -> None:
    """Bring a session's announcements and reminders in line with its (new) start or cancellation."""
    rows = {row.id: row for row in await planned_of_session(s, row_id(session), FROM_SCHEDULE)}
    existing = [Existing(r.id, Kind(r.kind), slot_in(r.key), r.status, r.due_at) for r in rows.values() if r.id]
    wanted = (
        []
        if session.status == SessionStatus.CANCELLED
        else wanted_slots(session.starts_at, settings.announce_before, settings.remind_before, settings.timezone, now)
    )
    for change in reconcile(existing, wanted):
        slot = change.slot
        if change.action == Action.CREATE and slot:
            await save(
                s,
                PlannedMessage(
                    key=schedule_key(slot.kind, row_id(session), slot.slot),
                    kind=slot.kind,
                    session_id=row_id(session),
                    room_id=session.room_id,
                    due_at=slot.due_at,
                    created_at=now,
                ),
            )
        elif change.action == Action.MOVE and slot and change.id:
            rows[change.id].due_at = slot.due_at
        elif change.action == Action.REARM and slot and change.id:
            rearm(rows[change.id], slot.due_at)
        elif change.action == Action.SKIP and change.id:
            skip(rows[change.id], "cancelled" if session.status == SessionStatus.CANCELLED else "moved")
    if session.status == SessionStatus.CANCELLED:
        for row in await pending(s, session_id=session.id):
            if row.kind in (*BEFORE_SESSION, Kind.FEEDBACK):
                skip(row, "cancelled")
    else:
        await plan_feedback(s, session, settings.feedback_after, now)


def feedback_key(session_id: int) -> str:
    return f"{Kind.FEEDBACK}:{session_id}"


async def plan_feedback(s: AsyncSession, session: Session, after: timedelta, now: datetime) -> None:
    """Ask for feedback `after` the session's end: planned once, moved with the session while
    it is pending (a question already asked is not asked again)."""
    due = session.ends_at + after
    row = await planned_by_key(s, feedback_key(row_id(session)))
    if row is None:
        await plan_once(s, Kind.FEEDBACK, session, feedback_key(row_id(session)), due, now)
    elif row.status == PlannedStatus.PENDING:
        row.due_at = due


def feedback_question_key(session_id: int, user_id: str) -> str:
    return f"{Kind.FEEDBACK_DM}:{session_id}:{user_id}"


async def plan_feedback_questions(s: AsyncSession, session: Session, user_ids: list[str], now: datetime) -> None:
    """The feedback question to each of these people, by direct message, now; asked again (a new
    message) for someone who was asked before."""
    for user_id in user_ids:
        key = feedback_question_key(row_id(session), user_id)
        row = await planned_by_key(s, key)
        if row is None:
            await plan_once(s, Kind.FEEDBACK_DM, session, key, now, now, user_id=user_id)
        elif row.status != PlannedStatus.PENDING:
            rearm(row, now)


async def feedback_question_by_event(s: AsyncSession, event_id: str) -> PlannedMessage | None:
    """The feedback question sent as `event_id` (answered by a reply or a digit reaction on it)."""
    query = select(PlannedMessage).where(
        PlannedMessage.sent_event_id == event_id, PlannedMessage.kind == Kind.FEEDBACK_DM
    )
    return (await s.exec(query)).first()


def skip(row: PlannedMessage, reason: str) -> None:
    row.status, row.last_error = PlannedStatus.SKIPPED, reason


def mark_handed(s: AsyncSession, row: PlannedMessage, now: datetime, late: bool) -> None:
    """Mark a due message as handed to the outbox (sent); written with the transaction's next flush,
    so that the marks of many rows handed over together go as one statement."""
    row.status, row.sent_at, row.late = PlannedStatus.SENT, now, late
    s.add(row)


async def plan_once(
    s: AsyncSession,
    kind: Kind,
    session: Session,
    key: str,
    due_at: datetime,
    now: datetime,
    data: dict[str, Any] | None = None,
    user_id: str | None = None,
) -> PlannedMessage:
    """A one-off message (to the session's room, or to `user_id` directly); nothing new if `key` exists."""
    row = await planned_by_key(s, key)
    if row is None:
        row = await save(
            s,
            PlannedMessage(
                key=key,
                kind=kind,
                session_id=row_id(session),
                room_id=None if user_id else session.room_id,
                user_id=user_id,
                due_at=due_at,
                payload=json.dumps(data, ensure_ascii=False) if data else None,
                created_at=now,
            ),
        )
    return row


async def plan_dm_reminders(s: AsyncSession, reminder: PlannedMessage, session: Session, now: datetime) -> None:
    """The direct-message copies of a room reminder, one row per person who asked for them, in one
    statement (a copy planned before stays as it is)."""
    copies = [
        PlannedMessage(
            key=f"{Kind.REMINDER_DM}:{session.id}:{slot_in(reminder.key)}:{reminder.revision}:{user_id}",
            kind=Kind.REMINDER_DM,
            session_id=row_id(session),
            user_id=user_id,
            due_at=reminder.due_at,
            created_at=now,
        ).model_dump(exclude={"id"})
        for user_id in await dm_reminder_user_ids(s, row_id(session))
    ]
    await insert_new_rows(s, PlannedMessage, copies, "key")


async def plan_entry(s: AsyncSession, entry: BoardEntry, renew_notice: timedelta, now: datetime) -> None:
    """A board entry's reminder to renew it and its expiry, planned for its (new) expiry time: new
    rows for a new entry, the same rows due again (with new transaction ids) after a renewal."""
    due = {
        Kind.BOARD_RENEWAL: renewal_due(entry.expires_at, renew_notice, now),
        Kind.BOARD_EXPIRY: entry.expires_at,
    }
    for kind, due_at in due.items():
        key = f"{kind}:{entry.id}"
        row = await planned_by_key(s, key)
        if row is None:
            row = PlannedMessage(
                key=key, kind=kind, entry_id=row_id(entry), user_id=entry.author, due_at=due_at, created_at=now
            )
        else:
            rearm(row, due_at)
        await save(s, row)
