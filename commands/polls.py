"""`!umfrage`: a Matrix poll (MSC3381) rating a session in its room, for rooms that would rather
vote in place, and `!umfrage ende`. Poll votes are visible to the room, and the bot says so; the
anonymous way stays the question by direct message. The use cases are `services.polls`."""

from __future__ import annotations

from bot.context import Context
from rules.sessions import about
from services import polls


async def poll(ctx: Context, end: bool, number: int) -> None:
    """Start a rating poll in the session's room, or (`ende`) end it: the bot posts the result,
    counted from the responses on the homeserver when the end goes out."""
    async with ctx.join_batch() as s:
        session = await (polls.end_poll if end else polls.start_poll)(ctx, s, number)
    await ctx.reply("polls.ended_note" if end else "polls.started", **about(session))
