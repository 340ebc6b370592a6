"""Official rooms: a coordinator from the config enables a room (`!raum freischalten [Region]`)
or disables it (`!raum sperren`). Only in official rooms do power levels count as roles, and only
their sessions are listed. `!raum brett` makes an official room the cooperation board's room."""

from __future__ import annotations

from bot.arguments import Choice
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from rules.errors import UserError
from storage import board, rooms

router = Router("rooms")
REGION_WORDS = {
    "bielefeld": "Bielefeld",
    "paderborn": "Paderborn",
    "beide": "Bielefeld, Paderborn",
    "both": "Bielefeld, Paderborn",
}


def require_configured_coordinator(ctx: Context) -> None:
    """Only a coordinator named in the config decides which rooms are official: power in a room
    of one's own must not make it official."""
    if not ctx.roles.configured_coordinator(ctx.sender):
        raise UserError("rooms.configured_only")


@router.command(
    "raum freischalten",
    aliases=("raum aktivieren", "room enable"),
    help="help.room_enable",
    role=Role.COORDINATOR,
    args=[Choice("region", "args.region", required=False, choices=REGION_WORDS, invalid="rooms.region_usage")],
)
async def enable(ctx: Context, region: str | None) -> None:
    require_configured_coordinator(ctx)
    if ctx.room_id in ctx.official.configured:
        raise UserError("rooms.configured_room", region=ctx.official.configured[ctx.room_id])
    chosen = region or "Bielefeld, Paderborn"
    async with ctx.join_batch() as s:
        await rooms.enable(s, ctx.room_id, chosen, ctx.now)
    ctx.after_commit.append(lambda: ctx.official.enabled(ctx.room_id, chosen))
    await ctx.reply("rooms.enabled", region=chosen)


@router.command(
    "raum sperren", aliases=("raum deaktivieren", "room disable"), help="help.room_disable", role=Role.COORDINATOR
)
async def disable(ctx: Context) -> None:
    require_configured_coordinator(ctx)
    if ctx.room_id in ctx.official.configured:
        raise UserError("rooms.configured_room", region=ctx.official.configured[ctx.room_id])
    async with ctx.join_batch() as s:
        was_official = await rooms.disable(s, ctx.room_id)
    if not was_official:
        raise UserError("rooms.not_enabled")
    ctx.after_commit.append(lambda: ctx.official.disabled(ctx.room_id))
    await ctx.reply("rooms.disabled")


@router.command("raum brett", aliases=("room board",), help="help.room_board", role=Role.COORDINATOR)
async def choose_board(ctx: Context) -> None:
    """Make this official room the board room: the cards of `!biete` and `!suche` go here."""
    require_configured_coordinator(ctx)
    if ctx.config.board.room is not None:
        raise UserError("rooms.board_configured")
    if not ctx.official.is_official(ctx.room_id):
        raise UserError("rooms.board_not_official")
    async with ctx.join_batch() as s:
        await board.choose_board_room(s, ctx.room_id)
    await ctx.reply("rooms.board_chosen")
