"""Changing sessions that are still ahead: one session, every part of a series still ahead, or
cancelling one — by a coordinator of the room the session is announced in. The people registered
are told privately, those who move up into new places too, and a series' announcement follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from rules.errors import UserError
from rules.i18n import Message
from rules.series import PER_PART, part_lines, series_ref
from rules.series_dates import TIME_EXAMPLE, parse_times, same_day
from rules.session_fields import check_deadline, parse_values, split_fields
from rules.sessions import SessionSummary, about, check_open, session_details
from rules.states import SessionStatus
from services.notices import tell_promoted
from services.series import SeriesParts, edit_series_announcement, series_of
from services.sessions import coordinated
from storage import planned, registrations, series, sessions
from storage.models import Session
from storage.rows import save

# Changes that calendars and registered people must hear about.
NOTIFYING_CHANGES = ("starts_at", "ends_at", "link")


@dataclass(frozen=True)
class Change:
    """What changing one session came to: the fields that changed, the registered people who must
    hear of it, and who moved up into new places."""

    session: Session
    changed: dict[str, Any]
    people: list[str]
    promoted: list[str]


@dataclass(frozen=True)
class SessionChanged:
    """`change_session`'s outcome: the session as it is now, and whether anything changed."""

    summary: SessionSummary[Session]
    changed: bool


@dataclass(frozen=True)
class SeriesChanged:
    """`change_series`' outcome: the series with every part, the parts it applied to (those still
    ahead), those of them that changed, and whether the series was renamed."""

    whole: SeriesParts
    ahead: list[Session]
    changed: list[Session]
    renamed: bool


@dataclass(frozen=True)
class Cancelled:
    """`cancel_session`'s outcome: the session, and how many registered people were told."""

    session: Session
    told: int


async def change_session(act: Acting, s: AsyncSession, number: int, fields: str) -> SessionChanged:
    """Give session #number the values of `fields` (`Feld: Wert | …`)."""
    session = await session_to_change(act, s, number)
    values = parse_values(split_fields(fields), act.now, act.timezone, session.ends_at - session.starts_at)
    change = await apply_change(act, s, session, values)
    summary = await sessions.session_summary(s, number)
    assert summary is not None  # locked above
    if change.people:
        details = session_details(act, summary)
        act.tell_each(change.people, "coordination.changed_notice", **about(session), details=details)
    tell_promoted(act, session, change.promoted)
    if change.changed and (whole := await series_of(s, session)):
        edit_series_announcement(act, whole)
    return SessionChanged(summary, bool(change.changed))


async def change_series(act: Acting, s: AsyncSession, number: int, fields: str) -> SeriesChanged:
    """Give every part of series number N still ahead the values of `fields`; `Wann` moves them to
    another time of day (each on its own date), `Titel` renames the series."""
    entries = split_fields(fields)
    times = next((parse_times(value) for field, value in entries if field == "when"), None)
    titled = [entry for entry in entries if entry[0] == "title"]
    shared = [entry for entry in entries if entry[0] not in ("when", "title")]
    found = await act.find_series(s, number)
    ahead = await series.parts_ahead(s, found.number, act.now)
    if not ahead:
        raise UserError("series.nothing_ahead", ref=series_ref(found.id), title=found.title)
    changes = []
    for part in ahead:
        session = await session_to_change(act, s, part.number)
        length = session.ends_at - session.starts_at
        values = parse_values(shared, act.now, act.timezone, length)
        for field in PER_PART:
            if field in values:
                raise UserError("series.per_part")
        if times is not None:
            moved = same_day(session.starts_at, times, act.timezone, length)
            if moved.start <= act.now:
                raise UserError("series_dates.past", date=act.short(moved.start), example=TIME_EXAMPLE)
            values["starts_at"], values["ends_at"] = moved.start, moved.end
        changes.append(await apply_change(act, s, session, values))
    title = parse_values(titled, act.now, act.timezone, timedelta(0)).get("title", found.title)
    renamed, found.title = title != found.title, title
    await save(s, found)
    whole = SeriesParts(found, await series.parts(s, found.number))
    tell_series_changed(act, whole, changes)
    changed = [c.session for c in changes if c.changed]
    if changed or renamed:
        edit_series_announcement(act, whole)
    return SeriesChanged(whole, [c.session for c in changes], changed, renamed)


def tell_series_changed(act: Acting, whole: SeriesParts, changes: list[Change]) -> None:
    """One notice for each person registered, naming every part of theirs that changed; and each
    person who moved up is told."""
    theirs: dict[str, list[Session]] = {}
    for change in changes:
        for person in change.people:
            theirs.setdefault(person, []).append(change.session)
    found = whole.series
    for person, parts in theirs.items():
        notice = act.t("series.changed_notice", ref=series_ref(found.id), title=found.title)
        act.tell(person, Message.join([notice, *part_lines(act, whole.parts, shown=parts)]))
    for change in changes:
        tell_promoted(act, change.session, change.promoted)


async def cancel_session(act: Acting, s: AsyncSession, number: int, reason: str) -> Cancelled:
    """Cancel session #number (`reason` may be empty); everyone registered is told privately."""
    session = await session_to_change(act, s, number)
    session.status, session.cancel_reason = SessionStatus.CANCELLED, reason or None
    sessions.record_change(session, ["status"], act.now)
    await save(s, session)
    await planned.plan_session(s, session, act.config, act.now)
    people = [r.user_id for r in await registrations.active_registrations(s, session.number)]
    act.plans.changed(number)
    if whole := await series_of(s, session):
        edit_series_announcement(act, whole)
    if people:
        because = act.t("coordination.reason", reason=reason) if reason else ""
        act.tell_each(people, "coordination.cancelled_notice", **about(session), reason=because)
    return Cancelled(session, len(people))


async def session_to_change(act: Acting, s: AsyncSession, number: int) -> Session:
    """Session #number, locked for this transaction, if the sender coordinates it and it is still ahead."""
    await sessions.lock_session(s, number)
    session = await coordinated(act, s, number)
    check_open(session, act.now)
    return session


async def apply_change(act: Acting, s: AsyncSession, session: Session, values: dict[str, Any]) -> Change:
    """Give a session that is still ahead (and locked) new values; plans follow its start."""
    if "room_id" in values:
        raise UserError("coordination.room_fixed")
    changed = {k: v for k, v in values.items() if getattr(session, k) != v}
    check_deadline(
        changed.get("registration_deadline", session.registration_deadline),
        changed.get("starts_at", session.starts_at),
    )
    for key, value in changed.items():
        setattr(session, key, value)
    if changed:
        sessions.record_change(session, changed, act.now)
    await save(s, session)
    if "starts_at" in changed or "ends_at" in changed:  # the feedback question follows the end
        await planned.plan_session(s, session, act.config, act.now)
    promoted = await registrations.promote_waiting(s, session, act.now) if "capacity" in changed else []
    notify = any(k in changed for k in NOTIFYING_CHANGES)
    people = [r.user_id for r in await registrations.active_registrations(s, session.number)] if notify else []
    act.plans.changed(session.number)
    return Change(session, changed, people, promoted)
