"""A person's municipality: `!kommune Name` records it once (matched against the regions'
directory), `!kommune` shows it; `typed_municipality` is how every command reads a typed one."""

from __future__ import annotations

from bot.arguments import Rest
from bot.context import Context
from bot.routing import Router
from rules.errors import UserError
from rules.municipalities import Outcome, match
from storage import municipalities

router = Router("municipalities")
MAX_MUNICIPALITY = 100


def typed_municipality(ctx: Context, text: str, retry: str) -> tuple[str, bool]:
    """(name, listed): the directory's name for what was typed, or the text itself (not listed)
    when it is close to nothing there. When it is only close, the person is asked back with
    `retry` (the command to write again, without the name) and nothing is done."""
    found = match(ctx.config.municipalities, text)
    if found.outcome == Outcome.SURE and found.name is not None:
        return found.name, True
    if found.outcome == Outcome.UNSURE:
        *others, last = found.candidates
        candidates = f"{', '.join(others)} {ctx.t('municipalities.or').plain} {last}" if others else last
        raise UserError("municipalities.did_you_mean", candidates=candidates, example=f"{retry} {found.candidates[0]}")
    return found.text, False


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
    async with ctx.db.transaction() as s:
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
