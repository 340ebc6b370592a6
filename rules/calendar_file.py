"""A session, or every part of a series, as an iCalendar file (pure): fixed UID per session,
Europe/Berlin VTIMEZONE, a reminder alarm.

Changes raise the session's sequence, so calendars update the entry they already have;
a cancelled session produces METHOD:CANCEL with STATUS:CANCELLED.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event

from rules.sessions import SessionView
from rules.states import SessionStatus

ALARM_BEFORE = timedelta(minutes=15)


def uid(session: SessionView, domain: str) -> str:
    return f"regiobot-session-{session.id}@{domain}"


def filename(session: SessionView) -> str:
    return f"regiopol-termin-{session.id}.ics"


def series_filename(number: int) -> str:
    return f"regiopol-reihe-{number}.ics"


def _event(session: SessionView, tz: ZoneInfo, now: datetime, domain: str) -> Event:
    """One session as a VEVENT: its UID and sequence are the session's own in every file."""
    cancelled = session.status == SessionStatus.CANCELLED
    event = Event()
    event.add("uid", uid(session, domain))
    event.add("sequence", session.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at.astimezone(tz))
    event.add("dtend", session.ends_at.astimezone(tz))
    event.add("summary", session.title)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    details = [text for text in (session.talk, session.speaker, session.description) if text]
    if session.link:
        details.append(session.link)
        event.add("url", session.link)
        event.add("location", session.link)
    if details:
        event.add("description", "\n".join(details))
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", session.title)
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    return event


def _calendar(events: list[Event], method: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Regiopol Akademie//regiobot//DE")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def session_calendar(session: SessionView, tz: ZoneInfo, now: datetime, domain: str) -> bytes:
    """The .ics file for one session, as bytes."""
    method = "CANCEL" if session.status == SessionStatus.CANCELLED else "PUBLISH"
    return _calendar([_event(session, tz, now, domain)], method)


def series_calendar(parts: Sequence[SessionView], tz: ZoneInfo, now: datetime, domain: str) -> bytes:
    """One .ics file for every part of a series, each its own event (a cancelled part marked so)."""
    return _calendar([_event(part, tz, now, domain) for part in parts], "PUBLISH")
