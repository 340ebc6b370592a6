"""A session as an iCalendar file (pure): fixed UID, Europe/Berlin VTIMEZONE, a reminder alarm.

Changes raise the session's sequence, so calendars update the entry they already have;
a cancelled session produces METHOD:CANCEL with STATUS:CANCELLED.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rules.sessions import SessionView
from rules.states import SessionStatus

ALARM_BEFORE = timedelta(minutes=15)


def uid(session: SessionView, domain: str) -> str:
    return f"regiobot-session-{session.id}@{domain}"


def filename(session: SessionView) -> str:
    return f"regiopol-termin-{session.id}.ics"


def session_calendar(session: SessionView, tz: ZoneInfo, now: datetime, domain: str) -> bytes:
    """The .ics file for one session, as bytes."""
    from icalendar import Alarm, Calendar, Event  # on first use: most runs never make a calendar file

    cancelled = session.status == SessionStatus.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", "-//Regiopol Akademie//regiobot//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
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
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
