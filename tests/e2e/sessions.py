"""Helpers for tests that need sessions to the second, and for finding the bot's messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.timing import Kind
from storage.models import PlannedMessage, Session
from storage.planned import plan_session, planned_of_session
from storage.rows import save
from tests.e2e.conftest import RunningBot
from tests.e2e.people import Event, body


async def add_session(
    running: RunningBot, room: str, starts_in: timedelta, lasts: timedelta = timedelta(hours=1), **fields: object
) -> int:
    """A session starting `starts_in` from now and lasting `lasts` (to the second, which commands
    do not offer)."""
    bot = running.bot
    assert bot is not None
    now = datetime.now(UTC)
    async with bot.db.transaction() as s:
        session = await save(
            s,
            Session(
                title="Starkregenvorsorge",
                starts_at=now + starts_in,
                ends_at=now + starts_in + lasts,
                room_id=room,
                created_by="@nobody:localhost",
                created_at=now,
                **fields,
            ),
        )
        await plan_session(s, session, bot.config, now)
    assert session.id is not None
    bot.scheduler.changed(session.id)
    return session.id


async def planned(running: RunningBot, session_id: int, kind: Kind) -> list[PlannedMessage]:
    assert running.bot is not None
    async with running.bot.db.transaction() as s:
        return await planned_of_session(s, session_id, [kind])


def from_bot(bot_id: str, room: str | None, text: str):
    def match(e: Event) -> bool:
        return (
            e["sender"] == bot_id
            and e.get("type") == "m.room.message"
            and text in body(e)
            and (room is None or e["room_id"] == room)
            and "m.new_content" not in e["content"]
        )

    return match


def edits_of(event_id: str, text: str):
    def match(e: Event) -> bool:
        relates = e.get("content", {}).get("m.relates_to") or {}
        return (
            relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == event_id
            and text in e["content"]["m.new_content"]["body"]
        )

    return match
