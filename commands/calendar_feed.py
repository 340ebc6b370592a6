"""A personal calendar to subscribe to: `!kalender abonnieren` sends the person the secret address
of a feed with their registrations (by direct message), `!kalender abbestellen` revokes it."""

from __future__ import annotations

from bot.context import Context
from services import calendar_feed
from services.calendar_feed import Handed


async def subscribe(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        handed = await calendar_feed.subscribe(ctx, s)
    if handed == Handed.PRIVATELY:  # asked in the direct chat itself, the address is the answer
        await ctx.reply("calendar.sent_privately")


async def unsubscribe(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        revoked = await calendar_feed.unsubscribe(ctx, s)
    await ctx.reply("calendar.unsubscribed" if revoked else "calendar.not_subscribed")
