"""A person's municipality: `!kommune Name` records it once (matched against the regions'
directory), `!kommune` shows it."""

from __future__ import annotations

from bot.arguments import Rest
from bot.context import Context
from bot.routing import Router
from services.municipalities import MAX_MUNICIPALITY, typed_municipality
from storage import municipalities

router = Router("municipalities")


def regions_of(ctx: Context, name: str) -> str:
    """`Bielefeld`, `Bielefeld und Paderborn`, or '' for a name not in the directory."""
    return f" {ctx.t('municipalities.and').plain} ".join(ctx.config.municipalities.regions_of(name))


@router.command(
    "kommune",
    aliases=("municipality",),
    help="help.municipality",
    args=[
        Rest(
            "name",
            "args.municipality",
            required=False,
            maximum=MAX_MUNICIPALITY,
            too_long="registration.municipality_too_long",
        )
    ],
)
async def municipality(ctx: Context, name: str) -> None:
    """Record the sender's municipality (used by `!anmelden` from then on), or show it."""
    if name:
        name, listed = typed_municipality(ctx, name, f"{ctx.prefix}kommune")
    async with ctx.join_batch() as s:
        if name:
            await municipalities.set_municipality(s, ctx.sender, name, listed, ctx.now)
        row = await municipalities.municipality_row(s, ctx.sender)
    if row is None:
        await ctx.reply("municipalities.none")
        return
    listed = ctx.config.municipalities.is_listed(row.name)
    state = "set" if name else "current"
    key = f"municipalities.{state}" if listed else f"municipalities.{state}_unlisted"
    await ctx.reply(key, name=row.name, regions=regions_of(ctx, row.name))
