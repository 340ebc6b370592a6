"""`!raum widget`: the programme as a widget at the top of an official room (coordinators)."""

from __future__ import annotations

from bot.context import Context
from services.widget import add_widget


async def widget(ctx: Context) -> None:
    added = add_widget(ctx)
    await ctx.reply("widget.added" if added.framable else "widget.added_not_framable")
