"""Signing in on the web pages from the chat: a one-time link by the bot's own direct chat
(`!web`), and signing out every browser (`!web abmelden`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.config import WebConfig
from rules.errors import UserError
from storage import people, web_sessions

LOGIN_PATH = "/login/{token}"


class Delivery(Enum):
    """Where the link went: into this direct chat as the answer, or by direct message."""

    HERE = "here"
    PRIVATELY = "privately"


@dataclass(frozen=True)
class LoginLink:
    """A one-time link to sign in, valid for `minutes`."""

    url: str
    minutes: int
    delivery: Delivery


def web_of(act: Acting) -> WebConfig:
    """The bot's web address; without one there are no pages to sign in to."""
    if act.config.web is None:
        raise UserError("web_login.web_off")
    return act.config.web


async def login_link(act: Acting, s: AsyncSession) -> LoginLink:
    """A new one-time link for the sender. It never appears in a shared room: asked anywhere but
    in the bot's own direct chat with them, it goes there by direct message."""
    web = web_of(act)
    token = await web_sessions.issue_login(s, act.sender, act.now)
    minutes = int(web_sessions.LOGIN_VALID.total_seconds() // 60)
    link = LoginLink(web.url(LOGIN_PATH.format(token=token)), minutes, Delivery.PRIVATELY)
    if await people.direct_room_of(s, act.sender) == act.room_id:
        return LoginLink(link.url, minutes, Delivery.HERE)
    act.tell(act.sender, act.t("web_login.link", url=link.url, minutes=minutes))
    return link


async def sign_out_everywhere(act: Acting, s: AsyncSession) -> int:
    """End every web session of the sender (and any login link not used yet); how many."""
    web_of(act)
    return await web_sessions.end_sessions(s, act.sender)
