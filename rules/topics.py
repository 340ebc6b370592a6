"""The `!thema` command's forms (pure): proposing a wish, or acting on wish T<n>.

!thema Titel [| Beschreibung]            propose (the bot first points to look-alikes)
!thema trotzdem Titel [| Beschreibung]   propose although it looks like an existing wish
!thema T3                                show wish T3
!thema T3 referieren                     offer to give the input talk
!thema T3 planen | Wann …                (coordinators) turn it into a session
!thema T3 schließen [Grund]              (coordinators) close it
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rules.cleaning import clean, one_line
from rules.errors import UserError
from rules.i18n import Message
from rules.voice import Voice

MAX_TITLE = 200
MAX_DESCRIPTION = 2000
INSIST = frozenset({"trotzdem", "anyway"})
_REF = re.compile(r"^[Tt](\d{1,9})(?:\s+(.*))?$", re.DOTALL)


class TopicAction(StrEnum):
    SHOW = "show"
    OFFER = "offer"
    PLAN = "plan"
    CLOSE = "close"


ACTIONS = {
    "referieren": TopicAction.OFFER,
    "offer": TopicAction.OFFER,
    "planen": TopicAction.PLAN,
    "plan": TopicAction.PLAN,
    "schließen": TopicAction.CLOSE,
    "schliessen": TopicAction.CLOSE,
    "close": TopicAction.CLOSE,
}


def topic_ref(number: int | None) -> str:
    """How a wish is named: T3."""
    return f"T{number}"


@dataclass(frozen=True)
class Proposal:
    title: str
    description: str | None
    insist: bool


@dataclass(frozen=True)
class Act:
    number: int
    action: TopicAction
    rest: str


def parse_topic(text: str) -> Proposal | Act:
    """What `!thema …` asks for; UserError with a hint for what cannot be understood."""
    text = text.strip()
    match = _REF.match(text)
    if match:
        head, _, rest = (match.group(2) or "").strip().partition(" ")
        head, _, bar_rest = head.partition("|")
        rest = f"{bar_rest} {rest}".strip() if bar_rest else rest.strip()
        if not head:
            return Act(int(match.group(1)), TopicAction.SHOW, "")
        action = ACTIONS.get(head.lower())
        if action is None:
            raise UserError("topics.unknown_action", ref=topic_ref(int(match.group(1))), word=head)
        return Act(int(match.group(1)), action, rest.lstrip("|").strip())
    first, _, after = text.partition(" ")
    insist = first.lower() in INSIST
    if insist:
        text = after.strip()
    title, _, description = text.partition("|")
    return new_proposal(title, description, insist)


def new_proposal(title: str, description: str | None, insist: bool = False) -> Proposal:
    """A wish as typed (in chat or in a form): the title on one line, the description trimmed,
    invisible characters out; UserError when the title is missing or either is too long."""
    title, description = one_line(title), clean(description or "").strip()
    if not title:
        raise UserError("topics.title_missing")
    if len(title) > MAX_TITLE:
        raise UserError("topics.title_too_long", maximum=MAX_TITLE)
    if len(description) > MAX_DESCRIPTION:
        raise UserError("errors.too_long", maximum=MAX_DESCRIPTION)
    return Proposal(title, description or None, insist)


def permalink(room_id: str, event_id: str) -> str:
    """A link to an event that every Matrix client opens."""
    return f"https://matrix.to/#/{room_id}/{event_id}"


def wish_post(voice: Voice, number: int | None, title: str, description: str | None, footer: Message) -> Message:
    """The bot's post of a wish: title, description, and what to do (or what became of it)."""
    lines = [voice.t("topics.post", ref=topic_ref(number), title=title)]
    if description:
        lines.append(voice.t("topics.post_description", text=description))
    return Message.join([*lines, footer])
