"""Official rooms: a coordinator from the config enables a room (`!raum freischalten [Region]`)
or disables it (`!raum sperren`). Only in official rooms do power levels count as roles, and only
their sessions are listed. `!raum brett` makes an official room the cooperation board's room."""

from __future__ import annotations

from bot.arguments import Choice
from bot.context import Context
from bot.roles import Role
from bot.rooms import BOTH
from bot.routing import Router
from services import rooms

router = Router("rooms")
REGION_WORDS = {"bielefeld": "Bielefeld", "paderborn": "Paderborn", "beide": BOTH, "both": BOTH}


@router.command(
    "raum freischalten",
    aliases=("raum aktivieren", "room enable"),
    help="help.room_enable",
    role=Role.COORDINATOR,
    args=[Choice("region", "args.region", required=False, choices=REGION_WORDS, invalid="rooms.region_usage")],
)
async def enable(ctx: Context, region: str | None) -> None:
    async with ctx.join_batch() as s:
        chosen = await rooms.enable(ctx, s, ctx.room_id, region)
    await ctx.reply("rooms.enabled", region=chosen)


@router.command(
    "raum sperren", aliases=("raum deaktivieren", "room disable"), help="help.room_disable", role=Role.COORDINATOR
)
async def disable(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        await rooms.disable(ctx, s, ctx.room_id)
    await ctx.reply("rooms.disabled")


@router.command("raum brett", aliases=("room board",), help="help.room_board", role=Role.COORDINATOR)
async def choose_board(ctx: Context) -> None:
    """Make this official room the board room: the cards of `!biete` and `!suche` go here."""
    async with ctx.join_batch() as s:
        await rooms.choose_board(ctx, s, ctx.room_id)
    await ctx.reply("rooms.board_chosen")
