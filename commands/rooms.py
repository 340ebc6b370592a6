"""Official rooms: a coordinator from the config enables a room (`!raum freischalten [Region]`)
or disables it (`!raum sperren`). Only in official rooms do power levels count as roles, and only
their sessions are listed. `!raum brett` makes an official room the cooperation board's room."""

from __future__ import annotations

from bot.context import Context
from services import rooms


async def enable(ctx: Context, region: str | None) -> None:
    async with ctx.join_batch() as s:
        chosen = await rooms.enable(ctx, s, ctx.room_id, region)
    await ctx.reply("rooms.enabled", region=chosen)


async def disable(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        await rooms.disable(ctx, s, ctx.room_id)
    await ctx.reply("rooms.disabled")


async def choose_board(ctx: Context) -> None:
    """Make this official room the board room: the cards of `!biete` and `!suche` go here."""
    async with ctx.join_batch() as s:
        await rooms.choose_board(ctx, s, ctx.room_id)
    await ctx.reply("rooms.board_chosen")
