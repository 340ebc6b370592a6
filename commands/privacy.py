"""Privacy (DSGVO): what is stored about me (`!meine-daten`), and deleting it (`!daten-löschen`)."""

from __future__ import annotations

from bot.context import Context
from services import privacy


async def my_data(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        export = await privacy.my_data(ctx, s)
    ctx.send_file(export.data, export.filename, export.mimetype, to_user=ctx.sender)
    await ctx.reply("privacy.sent")


async def delete_data(ctx: Context, confirmed: bool) -> None:
    """Deletes only once confirmed (`!daten-löschen ja`); without it the parser explains what goes."""
    async with ctx.join_batch() as s:
        deleted = await privacy.delete_my_data(ctx, s)
    await ctx.reply("privacy.deleted", registrations=deleted.registrations, answers=deleted.answers)
