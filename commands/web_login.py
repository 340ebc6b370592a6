"""Signing in on the web pages: `!web` sends a one-time link by the bot's direct chat,
`!web abmelden` signs out every browser."""

from __future__ import annotations

from bot.context import Context
from services.calendar_feed import Handed
from services.web_login import login_link, sign_out_everywhere


async def send_link(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        link = await login_link(ctx, s)
    if link.handed == Handed.PRIVATELY:  # asked in the direct chat, the link itself is the answer
        await ctx.reply("web_login.sent_privately", minutes=link.minutes)


async def sign_out(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        ended = await sign_out_everywhere(ctx, s)
    await ctx.reply("web_login.signed_out" if ended else "web_login.no_sessions")
