"""A person's municipality: `!kommune Name` records it once (matched against the regions'
directory), `!kommune` shows it. The use cases are in `services.municipalities`."""

from __future__ import annotations

from bot.context import Context
from services.municipalities import (
    Municipality,
    my_municipality,
    set_municipality,
    typed_municipality,
)

ANSWERS = {
    (True, True): "municipalities.set",
    (True, False): "municipalities.set_unlisted",
    (False, True): "municipalities.current",
    (False, False): "municipalities.current_unlisted",
}


async def municipality(ctx: Context, name: str) -> None:
    """Record the sender's municipality (used by `!anmelden` from then on), or show it."""
    found: Municipality | None
    if name:
        name, listed = typed_municipality(ctx, name, f"{ctx.prefix}kommune")
        async with ctx.join_batch() as s:
            found = await set_municipality(ctx, s, name, listed)
    else:
        async with ctx.join_batch() as s:
            found = await my_municipality(ctx, s)
    if found is None:
        await ctx.reply("municipalities.none")
        return
    regions = f" {ctx.t('municipalities.and').plain} ".join(found.regions)
    await ctx.reply(ANSWERS[(bool(name), found.listed)], name=found.name, regions=regions)
