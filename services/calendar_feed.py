"""A personal calendar to subscribe to: the secret address of a feed with the person's
registrations, handed out only where the person alone reads it, and revoked."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, Acting
from bot.config import WebConfig
from rules.errors import UserError
from rules.i18n import Message
from rules.rendering.content import message_content
from storage import calendar_tokens, people
from storage.outbox import SecretOutgoing


class Handed(StrEnum):
    """Where the address went."""

    HERE = "here"  # asked in the bot's own direct chat with the person: the answer holds it
    PRIVATELY = "privately"  # asked elsewhere: sent to that direct chat


def personal_feed_path(token: str) -> str:
    return f"/kalender/p/{token}.ics"


def web_of(act: Acting) -> WebConfig:
    """The bot's web address; without one there is no feed to subscribe to."""
    if act.config.web is None:
        raise UserError("calendar.web_off")
    return act.config.web


async def subscribe(act: Acting, s: AsyncSession) -> Handed:
    """Issue the sender a new feed address (an older one stops working) and hand it out."""
    web = web_of(act)
    renewed = await calendar_tokens.token_of(s, act.sender) is not None
    token = await calendar_tokens.issue(s, act.sender, act.now)
    here = await people.direct_room_of(s, act.sender) == act.room_id
    message = act.t(
        "calendar.subscribed",
        url=web.url(personal_feed_path(token)),
        renewed=act.t("calendar.renewed") if renewed else "",
    )
    hand_out(act, message, here)
    return Handed.HERE if here else Handed.PRIVATELY


def hand_out(act: Acting, message: Message, here: bool, kind: str = "calendar-feed") -> None:
    """Queue the message with a secret address (of a feed, a one-time login) for the person's own
    direct chat — as the answer when asked there — marked secret: the outbox forgets its text once
    it is delivered (only the address's hash is kept). `kind` names the messages' keys."""
    for number, piece in enumerate(message.split()):
        key = f"{kind}:{act.request_id}:{number}"
        if here:
            content = message_content(piece)
            if (relates_to := act.answer_relation()) is not None:
                content["m.relates_to"] = relates_to
            act.queue(SecretOutgoing(key, content, room_id=act.room_id, answers=act.request_id))
        else:
            content = message_content(piece, notice=False, mentions=(act.sender,))
            act.queue(SecretOutgoing(key, content, user_id=act.sender), NOTICE_TTL)


async def unsubscribe(act: Acting, s: AsyncSession) -> bool:
    """Revoke the sender's feed address; False when they had none."""
    web_of(act)
    return await calendar_tokens.revoke(s, act.sender)
