"""Sessions as people read them (pure): references, places, list lines, details, and whether a
session can still be changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from rules.errors import UserError
from rules.i18n import Message
from rules.states import SessionStatus
from rules.voice import Voice


class SessionView(Protocol):
    """What the rules read of a session (the storage model has these fields)."""

    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def talk(self) -> str | None: ...
    @property
    def speaker(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def link(self) -> str | None: ...
    @property
    def capacity(self) -> int | None: ...
    @property
    def registration_deadline(self) -> datetime | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def cancel_reason(self) -> str | None: ...
    @property
    def sequence(self) -> int: ...
    @property
    def room_id(self) -> str: ...


AnySession = TypeVar("AnySession", bound=SessionView)


@dataclass(frozen=True)
class SessionSummary(Generic[AnySession]):
    """A session with its counts, for lists."""

    session: AnySession
    registered: int
    waitlisted: int


def ref(number: int | None) -> str:
    """How a session is named to users: `#N`."""
    return f"#{number}"


def about(session: SessionView) -> dict[str, str]:
    """The `ref` and `title` parameters most messages about a session take."""
    return {"ref": ref(session.id), "title": session.title}


def check_open(session: SessionView, now: datetime) -> None:
    """Refuse changes to a session that is cancelled or has begun."""
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", **about(session))
    if session.starts_at <= now:
        raise UserError("errors.session_past", **about(session))


def places_text(voice: Voice, summary: SessionSummary[Any]) -> Message:
    capacity = summary.session.capacity
    if capacity is None:
        return voice.t("sessions.places_unlimited", registered=summary.registered)
    left = max(capacity - summary.registered, 0)
    if left == 0:
        return voice.t("sessions.places_full", capacity=capacity, waitlisted=summary.waitlisted)
    return voice.t("sessions.places_left", left=left, capacity=capacity)


def session_line(voice: Voice, summary: SessionSummary[Any]) -> Message:
    session = summary.session
    return voice.t(
        "sessions.line",
        ref=ref(session.id),
        date=voice.short(session.starts_at),
        title=session.title,
        places=places_text(voice, summary),
    )


def session_details(voice: Voice, summary: SessionSummary[Any], howto: str = "sessions.details_howto") -> Message:
    """The full description of one session, as shown by `!termin #N`; `howto` says how to register."""
    session = summary.session
    lines = [
        voice.t("sessions.details_head", **about(session)),
        voice.t("sessions.details_when", when=voice.when(session.starts_at, session.ends_at)),
    ]
    deadline = session.registration_deadline
    for key, value in (
        ("talk", session.talk),
        ("speaker", session.speaker),
        ("region", session.region),
        ("description", session.description),
        ("link", session.link),
        ("deadline", deadline and voice.short(deadline)),
    ):
        if value:
            lines.append(voice.t(f"sessions.details_{key}", value=value))
    lines.append(voice.t("sessions.details_places", places=places_text(voice, summary)))
    if summary.waitlisted:
        lines.append(voice.t("sessions.details_waitlist", count=summary.waitlisted))
    if session.status == SessionStatus.CANCELLED:
        lines.append(voice.t("sessions.details_cancelled", reason=session.cancel_reason or "–"))
    elif session.starts_at <= voice.now:
        lines.append(voice.t("sessions.details_past"))
    else:
        lines.append(voice.t(howto, ref=ref(session.id)))
    return Message.join(lines)


def created_message(voice: Voice, session: SessionView) -> Message:
    """The answer to a new session: its number and details."""
    return Message.join(
        [voice.t("coordination.created", ref=ref(session.id)), session_details(voice, SessionSummary(session, 0, 0))]
    )
