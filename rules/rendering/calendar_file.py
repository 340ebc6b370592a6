"""Sessions as iCalendar (pure): one session's file, every part of a series in one file, and the
feeds calendar programs subscribe to.

Every entry has a fixed UID (the same in the file and in every feed, so a calendar keeps one entry
per session) and the session's sequence, which every change of what the entry shows raises
(`EVENT_FIELDS`), so calendars update the entry they already have. A cancelled session is
STATUS:CANCELLED; the single file then also says METHOD:CANCEL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rules.sessions import SessionView
from rules.states import SessionStatus

if TYPE_CHECKING:  # icalendar is loaded on first use: most runs never make a calendar
    from icalendar import Calendar, Event

ALARM_BEFORE = timedelta(minutes=15)
# How often subscribed calendars should fetch a feed again (REFRESH-INTERVAL, X-PUBLISHED-TTL).
FEED_REFRESH = timedelta(hours=1)
# The session's fields an entry shows: a change of any of them raises its sequence.
EVENT_FIELDS = frozenset({"title", "starts_at", "ends_at", "talk", "speaker", "description", "link", "status"})


def uid(session: SessionView, domain: str) -> str:
    return f"regiobot-session-{session.id}@{domain}"


def filename(session: SessionView) -> str:
    return f"regiopol-termin-{session.id}.ics"


def _calendar(method: str) -> Calendar:
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", "-//Regiopol Akademie//regiobot//DE")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def _event(session: SessionView, tz: ZoneInfo, domain: str, stamp: datetime, status: str, alarm: bool) -> Event:
    """The entry of one session; `status` is CONFIRMED, TENTATIVE or CANCELLED."""
    from icalendar import Alarm, Event

    event = Event()
    event.add("uid", uid(session, domain))
    event.add("sequence", session.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at.astimezone(tz))
    event.add("dtend", session.ends_at.astimezone(tz))
    event.add("summary", session.title)
    event.add("status", status)
    details = [text for text in (session.talk, session.speaker, session.description) if text]
    if session.link:
        details.append(session.link)
        event.add("url", session.link)
        event.add("location", session.link)
    if details:
        event.add("description", "\n".join(details))
    if alarm and status != "CANCELLED":
        reminder = Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", session.title)
        reminder.add("trigger", -ALARM_BEFORE)
        event.add_component(reminder)
    return event


def _cancelled(session: SessionView) -> bool:
    return session.status == SessionStatus.CANCELLED


def session_calendar(session: SessionView, tz: ZoneInfo, now: datetime, domain: str) -> bytes:
    """The .ics file for one session, as bytes."""
    cancelled = _cancelled(session)
    calendar = _calendar("CANCEL" if cancelled else "PUBLISH")
    calendar.add_component(_event(session, tz, domain, now, "CANCELLED" if cancelled else "CONFIRMED", alarm=True))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def series_filename(number: int) -> str:
    return f"regiopol-reihe-{number}.ics"


def series_calendar(parts: Sequence[SessionView], tz: ZoneInfo, now: datetime, domain: str) -> bytes:
    """One .ics file for every part of a series, each its own event (a cancelled part marked so)."""
    calendar = _calendar("PUBLISH")
    for part in parts:
        status = "CANCELLED" if _cancelled(part) else "CONFIRMED"
        calendar.add_component(_event(part, tz, domain, now, status, alarm=True))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


@dataclass(frozen=True)
class FeedEntry:
    """One session in a feed: `changed_at` (its DTSTAMP) is when the entry last changed, so the
    feed reads the same until something changes; `waiting` marks a place on the waiting list
    (TENTATIVE) in a personal feed."""

    session: SessionView
    changed_at: datetime
    waiting: bool = False


def feed_key(entries: Iterable[FeedEntry]) -> tuple[object, ...]:
    """Everything of `entries` that a feed's text depends on: equal keys, equal feeds (so a feed
    need not be rendered again while its sessions stay as they are)."""
    return tuple(
        (
            e.session.id,
            e.session.sequence,
            e.changed_at,
            e.waiting,
            *(getattr(e.session, f) for f in sorted(EVENT_FIELDS)),
        )
        for e in entries
    )


def feed_calendar(entries: Iterable[FeedEntry], name: str, tz: ZoneInfo, domain: str, *, alarms: bool = False) -> bytes:
    """A calendar to subscribe to: every entry, cancelled ones as STATUS:CANCELLED, with how often
    to fetch it again. `alarms`: each entry reminds 15 minutes before (for a personal feed; a
    public feed would remind everyone of every session)."""
    from icalendar import vDuration

    calendar = _calendar("PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    for entry in entries:
        status = "CANCELLED" if _cancelled(entry.session) else "TENTATIVE" if entry.waiting else "CONFIRMED"
        calendar.add_component(_event(entry.session, tz, domain, entry.changed_at, status, alarms))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
