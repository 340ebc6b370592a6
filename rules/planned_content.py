"""What planned messages say (pure): announcements, reminders, protocol, material, follow-ups.

Everything is rendered when the message goes out, from the session as it is then: a late
reminder says how long it really is until the start, and it says that it is late.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rules.i18n import Message
from rules.sessions import SessionSummary, SessionView, about, session_details
from rules.timing import Kind, starts_in
from rules.voice import Voice

# Reminders this close to the start carry the link to join.
JOIN_LINK_WITHIN = timedelta(hours=1)
# The kinds `render` knows: a session's own messages (features render theirs, see `bot.features`).
RENDERED = frozenset({Kind.ANNOUNCEMENT, Kind.REMINDER, Kind.REMINDER_DM, Kind.PROTOCOL, Kind.MATERIAL, Kind.FOLLOWUP})


@dataclass(frozen=True)
class Outgoing:
    """A rendered planned message: m.notice unless it must notify, with its mentions."""

    message: Message
    notice: bool
    mentions: tuple[str, ...] = ()


def payload(row_payload: str | None) -> dict[str, Any]:
    return json.loads(row_payload) if row_payload else {}


def announcement(voice: Voice, summary: SessionSummary[Any]) -> Message:
    return Message.join(
        [voice.t("planned.announcement_head"), session_details(voice, summary, howto="planned.announcement_howto")]
    )


def reminder(voice: Voice, session: SessionView, late: bool) -> Message:
    key, params = starts_in(session.starts_at, voice.now, voice.timezone)
    when = voice.t(f"planned.starts_{key}", date=voice.short(session.starts_at), **params)
    lines = [voice.t("planned.reminder", **about(session), when=when)]
    if session.link and session.starts_at - voice.now <= JOIN_LINK_WITHIN:
        lines.append(voice.t("planned.reminder_link", link=session.link))
    if late:
        lines.append(voice.t("planned.late"))
    return Message.join(lines)


def render(
    kind: Kind,
    row_payload: str | None,
    summary: SessionSummary[Any],
    voice: Voice,
    late: bool,
    recipient: str | None,
    additions: Sequence[Message] = (),
) -> Outgoing:
    """The message a planned row of one of the RENDERED kinds stands for; `recipient` is set for
    direct messages; `additions` are lines that features add to it (for the protocol: the Q&A
    round's summary, the feedback totals)."""
    session = summary.session
    data = payload(row_payload)
    if kind == Kind.ANNOUNCEMENT:
        outgoing = Outgoing(announcement(voice, summary), notice=False)
    elif kind == Kind.REMINDER:
        outgoing = Outgoing(reminder(voice, session, late), notice=False)
    elif kind == Kind.REMINDER_DM:
        outgoing = Outgoing(reminder(voice, session, late), notice=False, mentions=(recipient,) if recipient else ())
    elif kind == Kind.PROTOCOL:  # names nobody: each registered person is told privately
        outgoing = Outgoing(voice.t("planned.protocol", **about(session), url=data["url"]), notice=False)
    elif kind == Kind.MATERIAL:
        label = data.get("title") or voice.t("planned.material_untitled").plain
        outgoing = Outgoing(voice.t("planned.material", **about(session), label=label, url=data["url"]), notice=False)
    else:
        outgoing = Outgoing(voice.t("planned.followup", **about(session), text=data["text"]), notice=False)
    if not additions:
        return outgoing
    return Outgoing(Message.join([outgoing.message, *additions]), outgoing.notice, outgoing.mentions)


def feedback_question(voice: Voice, session: SessionView) -> Message:
    """The feedback question to one person: a rating 1–5 and one optional sentence."""
    return voice.t("feedback.question", **about(session), date=voice.short(session.starts_at))
