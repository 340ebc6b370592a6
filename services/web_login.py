"""Signing in on the web pages from the chat: a one-time link by the bot's own direct chat
(`!web`), and signing out every browser (`!web abmelden`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.config import WebConfig
from rules.errors import UserError
from services.calendar_feed import Handed, hand_out
from storage import people, web_sessions

LOGIN_PATH = "/login/{token}"


@dataclass(frozen=True)
class LoginLink:
    """A one-time link to sign in, valid for `minutes`, handed out in the bot's direct chat."""

    minutes: int
    handed: Handed


def web_of(act: Acting) -> WebConfig:
    """The bot's web address; without one there are no pages to sign in to."""
    if act.config.web is None:
        raise UserError("web_login.web_off")
    return act.config.web


async def login_link(act: Acting, s: AsyncSession) -> LoginLink:
    """A new one-time link for the sender. It never appears in a shared room, only in the bot's
    own direct chat with them (as the answer when asked there), and the outbox forgets its text
    once it is delivered."""
    web = web_of(act)
    token = await web_sessions.issue_login(s, act.sender, act.now)
    minutes = int(web_sessions.LOGIN_VALID.total_seconds() // 60)
    here = await people.direct_room_of(s, act.sender) == act.room_id
    message = act.t("web_login.link", url=web.url(LOGIN_PATH.format(token=token)), minutes=minutes)
    hand_out(act, message, here, "web-login")
    return LoginLink(minutes, Handed.HERE if here else Handed.PRIVATELY)


async def sign_out_everywhere(act: Acting, s: AsyncSession) -> int:
    """End every web session of the sender (and any login link not used yet); how many."""
    web_of(act)
    return await web_sessions.end_sessions(s, act.sender)
