"""!hilfe: the commands the sender may use, with their arguments, generated from their declarations."""

from __future__ import annotations

from bot.arguments import usage_line
from bot.context import Context
from bot.routing import Command
from rules.i18n import Message


def help_line(ctx: Context, command: Command) -> Message:
    aliases = ", ".join(f"{ctx.prefix}{a}" for a in command.aliases)
    return ctx.t(
        "help.line",
        name=usage_line(ctx, command.name, command.args),
        text=ctx.t(command.help_key),
        aliases=ctx.t("help.aliases", aliases=aliases) if aliases else "",
    )


async def show_help(ctx: Context) -> None:
    lines = [help_line(ctx, c) for c in ctx.commands.visible_to(ctx.role)]
    await ctx.reply(Message.join([ctx.t("help.head"), *lines, ctx.t("help.foot")]))
