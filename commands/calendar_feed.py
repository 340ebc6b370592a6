"""A personal calendar to subscribe to: `!kalender abonnieren` sends the person the secret address
of a feed with their registrations (by direct message), `!kalender abbestellen` revokes it."""

from __future__ import annotations

from bot.config import WebConfig
from bot.context import Context
from bot.routing import Router
from rules.errors import UserError
from storage import calendar_tokens, people

router = Router("calendar_feed")


def personal_feed_path(token: str) -> str:
    return f"/kalender/p/{token}.ics"


def web_of(ctx: Context) -> WebConfig:
    """The bot's web address; without one there is no feed to subscribe to."""
    if ctx.config.web is None:
        raise UserError("calendar.web_off")
    return ctx.config.web


@router.command("kalender abonnieren", aliases=("calendar subscribe",), help="help.calendar_subscribe")
async def subscribe(ctx: Context) -> None:
    web = web_of(ctx)
    async with ctx.join_batch() as s:
        renewed = await calendar_tokens.token_of(s, ctx.sender) is not None
        token = await calendar_tokens.issue(s, ctx.sender, ctx.now)
        private_here = await people.direct_room_of(s, ctx.sender) == ctx.room_id
    message = ctx.t(
        "calendar.subscribed",
        url=web.url(personal_feed_path(token)),
        renewed=ctx.t("calendar.renewed") if renewed else "",
    )
    if private_here:
        await ctx.reply(message)
        return
    ctx.tell(ctx.sender, message)
    await ctx.reply("calendar.sent_privately")


@router.command("kalender abbestellen", aliases=("calendar unsubscribe",), help="help.calendar_unsubscribe")
async def unsubscribe(ctx: Context) -> None:
    web_of(ctx)
    async with ctx.join_batch() as s:
        revoked = await calendar_tokens.revoke(s, ctx.sender)
    await ctx.reply("calendar.unsubscribed" if revoked else "calendar.not_subscribed")
