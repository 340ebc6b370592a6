"""Coordinators' tools: create, change and cancel sessions; participant lists. The use cases are
in `services.sessions`, `services.changes` and `services.participants`."""

from __future__ import annotations

from bot.arguments import Target
from bot.context import Context
from rules.i18n import Message
from rules.series import part_lines, series_ref
from rules.sessions import about, created_message, ref, session_details
from services.changes import cancel_session, change_series, change_session
from services.participants import participant_list
from services.sessions import new_session


async def create_session(ctx: Context, fields: str) -> None:
    """A new session, announced in this room if it is an official one; a coordinator from the
    config may name an official room (`Raum: !id`) from anywhere, e.g. a direct chat."""
    async with ctx.join_batch() as s:
        session = await new_session(ctx, s, fields, ctx.room_id)
    await ctx.reply(created_message(ctx, session))


async def change_command(ctx: Context, target: Target, fields: str) -> None:
    """`!termin ändern #N Feld: Wert` (one session) or `!termin ändern Reihe N Feld: Wert` (every
    part still ahead)."""
    if target.series:
        await changed_series(ctx, target.number, fields)
        return
    async with ctx.join_batch() as s:
        change = await change_session(ctx, s, target.number, fields)
    key = "coordination.changed" if change.changed else "coordination.unchanged"
    await ctx.reply(Message.join([ctx.t(key, ref=ref(target.number)), session_details(ctx, change.summary)]))


async def changed_series(ctx: Context, number: int, fields: str) -> None:
    async with ctx.join_batch() as s:
        change = await change_series(ctx, s, number, fields)
    found = change.whole.series
    key = "series.changed" if change.changed or change.renamed else "series.unchanged"
    head = ctx.t(key, ref=series_ref(found.id), title=found.title, count=len(change.changed))
    await ctx.reply(Message.join([head, *part_lines(ctx, change.whole.parts, shown=change.ahead)]))


async def cancel_command(ctx: Context, number: int, reason: str) -> None:
    async with ctx.join_batch() as s:
        cancelled = await cancel_session(ctx, s, number, reason)
    await ctx.reply("coordination.cancelled", **about(cancelled.session), count=cancelled.told)


async def participants(ctx: Context, number: int) -> None:
    """The counts here; the list with names goes to the coordinator's direct chat."""
    async with ctx.join_batch() as s:
        counts = await participant_list(ctx, s, number)
    if counts.empty:
        await ctx.reply("coordination.participants_none", **about(counts.session))
        return
    await ctx.reply(
        "coordination.participants",
        **about(counts.session),
        registered=counts.registered,
        waiting=counts.waiting,
        municipalities=counts.municipalities,
    )
