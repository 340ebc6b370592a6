"""What planned messages say (pure): announcements, reminders, protocol, material, follow-ups.

Everything is rendered when the message goes out, from the session as it is then: a late
reminder says how long it really is until the start, and it says that it is late.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rules.feedback import Totals, totals_line
from rules.i18n import Message
from rules.sessions import SessionSummary, SessionView, about, session_details
from rules.timing import Kind, starts_in
from rules.voice import Voice

# Reminders this close to the start carry the link to join.
JOIN_LINK_WITHIN = timedelta(hours=1)


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
    questions: tuple[int, int] | None = None,
    rated: Totals | None = None,
) -> Outgoing:
    """The message a planned row stands for; `recipient` is set for direct messages; `questions`
    (answered, open) of a closed Q&A round and the feedback totals (`rated`, from MIN_ANSWERS
    answers on) join the protocol."""
    session = summary.session
    data = payload(row_payload)
    if kind == Kind.ANNOUNCEMENT:
        return Outgoing(announcement(voice, summary), notice=False)
    if kind == Kind.REMINDER:
        return Outgoing(reminder(voice, session, late), notice=False)
    if kind == Kind.REMINDER_DM:
        return Outgoing(reminder(voice, session, late), notice=False, mentions=(recipient,) if recipient else ())
    if kind == Kind.PROTOCOL:
        message = voice.t("planned.protocol", **about(session), url=data["url"])
        if questions is not None:
            message = Message.join([message, voice.t("qa.protocol_summary", answered=questions[0], open=questions[1])])
        if rated is not None:
            message = Message.join([message, voice.t("feedback.protocol_head"), totals_line(voice, rated)])
        return Outgoing(message, notice=False)  # names nobody: each registered person is told privately
    if kind == Kind.MATERIAL:
        label = data.get("title") or voice.t("planned.material_untitled").plain
        return Outgoing(voice.t("planned.material", **about(session), label=label, url=data["url"]), notice=False)
    if kind == Kind.FEEDBACK_DM:
        return Outgoing(feedback_question(voice, session), notice=False, mentions=(recipient,) if recipient else ())
    return Outgoing(voice.t("planned.followup", **about(session), text=data["text"]), notice=False)


def feedback_question(voice: Voice, session: SessionView) -> Message:
    """The feedback question to one person: a rating 1–5 and one optional sentence."""
    return voice.t("feedback.question", **about(session), date=voice.short(session.starts_at))
