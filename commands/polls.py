"""`!umfrage`: a Matrix poll (MSC3381) rating a session in its room, for rooms that would rather
vote in place. Poll votes are visible to the room, and the bot says so; the anonymous way stays
the question by direct message (`commands.feedback`)."""

from __future__ import annotations

from bot.acting import NOTICE_TTL
from bot.arguments import Flag, SessionRef
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from rules.errors import UserError
from rules.polls import POLL_END, POLL_START, end_content
from rules.rating_poll import rating_poll
from rules.sessions import about, ref
from rules.states import SessionStatus
from storage import polls
from storage.models import Poll
from storage.outbox import Outgoing
from storage.rows import row_id, save
from storage.sessions import lock_session

router = Router("polls")


def start_key(poll: Poll) -> str:
    return f"poll-start:{poll.id}"


@router.command(
    "umfrage",
    aliases=("poll",),
    help="help.poll",
    role=Role.COORDINATOR,
    args=[Flag("end", "args.poll_end", words=("ende", "end")), SessionRef()],
)
async def poll(ctx: Context, end: bool, number: int) -> None:
    """Start a rating poll in the session's room, or (`ende`) end it: the bot posts the result,
    counted from the responses on the homeserver when the end goes out."""
    async with ctx.join_batch() as s:
        await lock_session(s, number)
        session = await ctx.find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        if session.status == SessionStatus.CANCELLED:
            raise UserError("errors.session_cancelled", **about(session))
        running = await polls.running_poll(s, number)
        if end:
            if running is None:
                raise UserError("polls.none_running", ref=ref(number))
            running.ended_at = ctx.now
            await save(s, running)
            ended = Outgoing(
                f"poll-end:{running.id}",
                end_content(running.event_id, ""),
                room_id=running.room_id,
                event_type=POLL_END,
                thread_of=None if running.event_id else start_key(running),
            )
            ctx.queue(ended, NOTICE_TTL)
        else:
            if running is not None:
                raise UserError("polls.already_running", ref=ref(number))
            started = await save(
                s, Poll(session_id=number, room_id=session.room_id, opened_by=ctx.sender, opened_at=ctx.now)
            )
            content = rating_poll(ctx, ref(number), session.title)
            outgoing = Outgoing(
                start_key(started),
                content,
                room_id=session.room_id,
                event_type=POLL_START,
                records=f"poll:{row_id(started)}",
            )
            ctx.queue(outgoing, NOTICE_TTL)
    await ctx.reply("polls.ended_note" if end else "polls.started", **about(session))
