"""Rating polls: a coordinator starts a Matrix poll (MSC3381) rating a session in its room, and ends
it; the result is counted from the responses on the homeserver when the end goes out. Poll votes
are visible to the room (the poll says so); the anonymous way stays the feedback question."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, Acting
from bot.roles import Role
from rules.errors import UserError
from rules.polls import POLL_END, POLL_START, end_content
from rules.rating_poll import rating_poll
from rules.sessions import about, ref
from rules.states import SessionStatus
from storage import polls
from storage.models import Poll, Session
from storage.outbox import Outgoing
from storage.rows import row_id, save
from storage.sessions import lock_session


def start_key(poll: Poll) -> str:
    return f"poll-start:{poll.id}"


async def _poll_session(act: Acting, s: AsyncSession, number: int) -> Session:
    """Session #N, locked, for a coordinator of its room; not a cancelled one."""
    await lock_session(s, number)
    session = await act.find_session(s, number)
    act.require(Role.COORDINATOR, session)
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", **about(session))
    return session


async def start_poll(act: Acting, s: AsyncSession, number: int) -> Session:
    """Post a rating poll for session #N in its room (one at a time)."""
    session = await _poll_session(act, s, number)
    if await polls.running_poll(s, number) is not None:
        raise UserError("polls.already_running", ref=ref(number))
    started = await save(s, Poll(session_id=number, room_id=session.room_id, opened_by=act.sender, opened_at=act.now))
    outgoing = Outgoing(
        start_key(started),
        rating_poll(act, ref(number), session.title),
        room_id=session.room_id,
        event_type=POLL_START,
        records=f"poll:{row_id(started)}",
    )
    act.queue(outgoing, NOTICE_TTL)
    return session


async def end_poll(act: Acting, s: AsyncSession, number: int) -> Session:
    """End session #N's running poll: the end event carries the result, counted when it goes out."""
    session = await _poll_session(act, s, number)
    running = await polls.running_poll(s, number)
    if running is None:
        raise UserError("polls.none_running", ref=ref(number))
    running.ended_at = act.now
    await save(s, running)
    ended = Outgoing(
        f"poll-end:{running.id}",
        end_content(running.event_id, ""),
        room_id=running.room_id,
        event_type=POLL_END,
        thread_of=None if running.event_id else start_key(running),
    )
    act.queue(ended, NOTICE_TTL)
    return session
