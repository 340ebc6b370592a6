"""The outbox: messages written in the transaction of the change that causes them, read by the
deliverer lane by lane (a room, one person's direct chat, or the answer to one command), each lane
in the order written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.states import OutboxStatus, PlannedStatus
from storage.models import BoardEntry, OutboxMessage, PlannedMessage, Poll, QaRound, Question, Series, Topic
from storage.rows import insert_new_rows, save

ANSWER_LANE = "answer:"
# `records` of a message whose row is deleted once it is sent or given up: it would tell when
# someone did something that must stay unlinked (a thank-you for a feedback answer).
FORGET = "forget"
# A message of this type takes an event of the bot's back (`redaction`); the Matrix layer sends it
# through the redact endpoint, never encrypted.
REDACTION = "m.room.redaction"


def lane_of(room_id: str | None, user_id: str | None, answers: str | None = None) -> str:
    """Messages to a room go out in order in that room; direct messages in order per person. The
    answer to a command in its room is a lane of its own: it names the command it replies to, so
    answers to different commands go out side by side (the parts of one answer in order)."""
    if user_id:
        return f"dm:{user_id}"
    return f"{ANSWER_LANE}{answers}" if answers else f"room:{room_id}"


# What a sent message's event id is noted on, by the kind in `records` ("kind:ID").
RECORDS: dict[str, tuple[type[SQLModel], str]] = {
    "qa_round": (QaRound, "root_event_id"),
    "question": (Question, "event_id"),
    "series": (Series, "announcement_event_id"),
    "poll": (Poll, "event_id"),
    "topic": (Topic, "event_id"),
}


@dataclass(frozen=True)
class Outgoing:
    """A message to write into the outbox: to `room_id`, or to `user_id` by direct message."""

    key: str
    content: dict[str, Any]
    room_id: str | None = None
    user_id: str | None = None
    event_type: str = "m.room.message"
    state_key: str | None = None  # set: a state event of the room (given a room_id), not a message
    attachment: bytes | None = None
    thread_of: str | None = None
    records: str | None = None
    answers: str | None = None  # the command event this message replies to in its room


@dataclass(frozen=True)
class SecretOutgoing(Outgoing):
    """A message whose content holds a secret (a personal feed's address): the outbox erases its
    content once it is delivered or given up."""


# What a secret message keeps of its content once delivered or given up.
ERASED = "{}"


def redaction(key: str, room_id: str, event_id: str, reason: str | None = None) -> Outgoing:
    """Take an event down in `room_id` (its content leaves the room's history; `reason` is shown
    in its place)."""
    content: dict[str, Any] = {"redacts": event_id}
    if reason:
        content["reason"] = reason
    return Outgoing(key, content, room_id=room_id, event_type=REDACTION)


async def enqueue(s: AsyncSession, message: Outgoing, now: datetime, expires_at: datetime) -> OutboxMessage | None:
    """Write `message` unless one with its key exists (a repeated enqueue adds nothing); the row
    written (not attached to the session), or None."""
    written = await enqueue_all(s, [(message, expires_at)], now)
    return written[0] if written else None


async def enqueue_all(s: AsyncSession, messages: list[tuple[Outgoing, datetime]], now: datetime) -> list[OutboxMessage]:
    """Write each message (with its expiry) unless one with its key exists, in one statement; the
    rows written, in the order given (not attached to the session)."""
    values: list[dict[str, Any]] = [
        {
            "key": message.key,
            "lane": lane_of(message.room_id, message.user_id, message.answers),
            "room_id": message.room_id,
            "user_id": message.user_id,
            "event_type": message.event_type,
            "state_key": message.state_key,
            # ASCII JSON (non-ASCII escaped): Python holds a text with one emoji (the 👍 of the
            # privacy notice) at four bytes a character, and a burst's answers wait here at once.
            "content": json.dumps(message.content),
            "attachment": message.attachment,
            "thread_of": message.thread_of,
            "records": message.records,
            "secret": isinstance(message, SecretOutgoing),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": None,
            "expires_at": expires_at,
            "created_at": now,
        }
        for message, expires_at in messages
    ]
    ids: dict[str, int] = await insert_new_rows(s, OutboxMessage, values, "key")
    written = []
    for row in values:
        if (found := ids.pop(row["key"], None)) is not None:  # a key given twice is written once
            written.append(OutboxMessage(id=found, **row))
    return written


async def write(s: AsyncSession, messages: list[tuple[Outgoing, datetime]], now: datetime) -> list[OutboxMessage]:
    """Write what an action caused (`enqueue_all`); those rows that head their lanes, to be sent
    once the transaction is committed."""
    return await lane_heads_among(s, await enqueue_all(s, messages, now))


async def lane_heads_among(s: AsyncSession, rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Those of `rows` (just written) that head their lanes: nothing written earlier waits there,
    so they may be sent at once. An answer's lane is its command's alone, so the first of its
    rows heads it; one query for the other lanes."""
    heads: dict[str, int | None] = {}
    for row in rows:
        if row.lane.startswith(ANSWER_LANE):
            heads.setdefault(row.lane, row.id)
    shared = {row.lane for row in rows} - heads.keys()
    if shared:
        first = await s.exec(
            select(OutboxMessage.lane, func.min(OutboxMessage.id))
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.lane).in_(shared))
            .group_by(col(OutboxMessage.lane))
        )
        heads.update(first.all())
    return [row for row in rows if heads.get(row.lane) == row.id]


async def lane_heads(s: AsyncSession, exclude: set[str], limit: int = 100) -> list[OutboxMessage]:
    """The first pending message of each lane (but those in `exclude`)."""
    first = (
        select(func.min(OutboxMessage.id))
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
        .group_by(col(OutboxMessage.lane))
    )
    query = select(OutboxMessage).where(col(OutboxMessage.id).in_(first)).order_by(col(OutboxMessage.id))
    heads = [row for row in (await s.exec(query)).all() if row.lane not in exclude]
    return heads[:limit]


async def head_of(s: AsyncSession, lane: str) -> OutboxMessage | None:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.lane == lane, col(OutboxMessage.status) == OutboxStatus.PENDING)
        .order_by(col(OutboxMessage.id))
    )
    return (await s.exec(query)).first()


async def withdraw(s: AsyncSession, records: str) -> None:
    """Take back the messages not sent yet whose event would be noted on `records` (a card whose
    entry was taken down before it went out)."""
    await s.exec(
        delete(OutboxMessage).where(
            col(OutboxMessage.records) == records, col(OutboxMessage.status) == OutboxStatus.PENDING
        )
    )


async def get(s: AsyncSession, message_id: int) -> OutboxMessage | None:
    return await s.get(OutboxMessage, message_id)


async def sent_event_of(s: AsyncSession, key: str) -> tuple[str, str | None]:
    """The status and sent event id of the message named `key` (("missing", None) if none)."""
    row = (await s.exec(select(OutboxMessage).where(OutboxMessage.key == key))).first()
    return (row.status, row.sent_event_id) if row else ("missing", None)


async def mark_sent(s: AsyncSession, row: OutboxMessage, event_id: str, room_id: str, now: datetime) -> None:
    """The homeserver accepted it: note where (dropping the uploaded bytes, and the content of a
    secret message), and note the event where `records` says (or delete the row, when it says
    FORGET)."""
    if row.records == FORGET:
        await _forget(s, row)
        return
    values: dict[str, Any] = {
        "status": OutboxStatus.SENT,
        "sent_event_id": event_id,
        "sent_at": now,
        "room_id": room_id,
        "next_attempt_at": None,
        "attachment": None,
    }
    if row.secret:
        values["content"] = ERASED
    await s.exec(update(OutboxMessage).where(col(OutboxMessage.id) == row.id).values(values))
    if not row.records:
        return
    kind, _, ident = row.records.partition(":")
    if kind == "planned":
        planned = {"sent_event_id": event_id, "status": PlannedStatus.SENT}
        await s.exec(update(PlannedMessage).where(col(PlannedMessage.id) == int(ident)).values(planned))
        return
    if kind == "board_entry":  # the card of an entry, edited when the entry changes
        card = {"card_room_id": room_id, "card_event_id": event_id}
        await s.exec(update(BoardEntry).where(col(BoardEntry.id) == int(ident)).values(card))
        return
    model, column = RECORDS[kind]
    await s.exec(update(model).where(model.id == int(ident)).values({column: event_id}))  # type: ignore[attr-defined]


async def sent_relating_to(s: AsyncSession, room_id: str, event_id: str) -> list[str]:
    """The events the bot sent in `room_id` that refer to `event_id` (edits of it, say), as far as
    the outbox still keeps them."""
    query = select(OutboxMessage.sent_event_id).where(
        OutboxMessage.room_id == room_id,
        col(OutboxMessage.status) == OutboxStatus.SENT,
        col(OutboxMessage.content).contains(event_id, autoescape=True),
    )
    return [found for found in (await s.exec(query.order_by(col(OutboxMessage.id)))).all() if found]


async def mark_retry(s: AsyncSession, row: OutboxMessage, error: str, next_attempt_at: datetime) -> None:
    row.attempts += 1
    row.last_error, row.next_attempt_at = error[:300], next_attempt_at
    await save(s, row)


async def planned_row(s: AsyncSession, records: str | None) -> PlannedMessage | None:
    """The planned message an outbox message stands for, if any."""
    if not records or not records.startswith("planned:"):
        return None
    return await s.get(PlannedMessage, int(records.partition(":")[2]))


async def _forget(s: AsyncSession, row: OutboxMessage) -> None:
    await s.exec(delete(OutboxMessage).where(col(OutboxMessage.id) == row.id))


async def mark_failed(s: AsyncSession, row: OutboxMessage, error: str) -> None:
    """Given up: not sent (a secret message's content is erased, it will not be needed), noted on
    the row (and on its planned message), or the row deleted when its `records` says FORGET."""
    if row.records == FORGET:
        await _forget(s, row)
        return
    row.attempts += 1
    row.status, row.last_error, row.next_attempt_at = OutboxStatus.FAILED, error[:300], None
    if row.secret:
        row.content = ERASED
    await save(s, row)
    planned = await planned_row(s, row.records)
    if planned is not None:
        planned.status, planned.last_error = PlannedStatus.FAILED, error[:300]
        await save(s, planned)


@dataclass(frozen=True)
class Backlog:
    """How much waits in the outbox: pending messages and when the oldest was written."""

    pending: int
    oldest: datetime | None
    failed: int


async def backlog(s: AsyncSession) -> Backlog:
    counts = dict(
        (
            await s.exec(
                select(OutboxMessage.status, func.count(col(OutboxMessage.id))).group_by(col(OutboxMessage.status))
            )
        ).all()
    )
    oldest = (
        await s.exec(
            select(OutboxMessage.created_at)
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
            .order_by(col(OutboxMessage.id))
            .limit(1)
        )
    ).first()
    return Backlog(int(counts.get(OutboxStatus.PENDING, 0)), oldest, int(counts.get(OutboxStatus.FAILED, 0)))


async def troubled(
    s: AsyncSession, since: datetime, limit: int = 20, room_id: str | None = None
) -> list[OutboxMessage]:
    """Messages written since `since` that failed or are being retried, newest first (only those
    to `room_id` when given: direct messages are nobody else's business)."""
    query = select(OutboxMessage).where(
        col(OutboxMessage.created_at) >= since,
        col(OutboxMessage.status).in_([OutboxStatus.FAILED, OutboxStatus.PENDING]),
        col(OutboxMessage.attempts) > 0,
    )
    if room_id is not None:
        query = query.where(OutboxMessage.room_id == room_id, col(OutboxMessage.user_id).is_(None))
    return list((await s.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit))).all())
