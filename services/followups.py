"""After a session, by a coordinator of its room: the protocol link, material, and follow-up
messages (now or at a given time), each planned as a post; and the archive anyone may read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from rules.dates import DateError, parse_when
from rules.errors import UserError
from rules.sessions import about
from rules.states import SessionStatus
from rules.timing import Kind
from services.sessions import coordinated
from storage import planned, registrations, sessions
from storage.models import Material, Session
from storage.rows import save

MAX_FOLLOWUP = 4000


@dataclass(frozen=True)
class ProtocolSaved:
    """The session, and how many people with a place get the link."""

    session: Session
    registered: int


@dataclass(frozen=True)
class FollowupPlanned:
    """The session, and when the follow-up is posted (now, or later)."""

    session: Session
    due: datetime


@dataclass(frozen=True)
class Archive:
    """Past sessions (latest first) and their material."""

    sessions: list[Session]
    materials: list[Material]


async def save_protocol(act: Acting, s: AsyncSession, number: int, url: str) -> ProtocolSaved:
    """The protocol of session #number is at `url`: noted with the session and posted."""
    session = await coordinated(act, s, number)
    if session.status == SessionStatus.CANCELLED:
        raise UserError("errors.session_cancelled", **about(session))
    session.protocol_url = url
    sessions.record_change(session, ["protocol_url"], act.now)
    await save(s, session)
    key = f"{Kind.PROTOCOL}:{act.request_id}"
    await planned.plan_once(s, Kind.PROTOCOL, session, key, act.now, act.now, {"url": url})
    act.plans.changed(number)
    return ProtocolSaved(session, len(await registrations.registered_user_ids(s, number)))


async def add_material(act: Acting, s: AsyncSession, number: int, url: str, title: str) -> Session:
    """Material of session #number (slides, a handout) at `url`, maybe titled: kept and posted."""
    session = await coordinated(act, s, number)
    sessions.record_change(session, ["materials"], act.now)
    await save(s, session)
    await save(s, Material(session_id=number, url=url, title=title or None, added_by=act.sender, added_at=act.now))
    key = f"{Kind.MATERIAL}:{act.request_id}"
    await planned.plan_once(s, Kind.MATERIAL, session, key, act.now, act.now, {"url": url, "title": title})
    act.plans.changed(number)
    return session


async def plan_followup(act: Acting, s: AsyncSession, number: int, text: str) -> FollowupPlanned:
    """A follow-up message for session #number: `Text` posted now, or `Wann | Text` at that time."""
    when_text, bar, message = text.partition("|")
    if not bar:
        when_text, message = "", text
    message = message.strip()
    if not message:
        raise UserError("followups.text_missing")
    if len(message) > MAX_FOLLOWUP:
        raise UserError("followups.text_too_long", maximum=MAX_FOLLOWUP)
    due = act.now
    if when_text.strip():
        try:
            due = parse_when(when_text, act.now, act.timezone).start
        except DateError as exc:
            problem = act.t(exc.key, **exc.params)
            raise UserError("followups.bad_when", when=when_text.strip(), problem=problem) from None
    session = await coordinated(act, s, number)
    key = f"{Kind.FOLLOWUP}:{act.request_id}"
    await planned.plan_once(s, Kind.FOLLOWUP, session, key, due, act.now, {"text": message})
    act.plans.changed(number)
    return FollowupPlanned(session, due)


async def archive(act: Acting, s: AsyncSession) -> Archive:
    """Past sessions in the acting person's scope, with their material."""
    past = await sessions.past_sessions(s, act.now, scope=act.scope())
    return Archive(past, await sessions.materials(s, [x.number for x in past]))
