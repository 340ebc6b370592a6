"""Session fields as coordinators write them, both forms; calendar and CSV files parsed back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from rules.errors import UserError
from rules.rendering.calendar_file import session_calendar
from rules.rendering.participants_file import Participant, participants_csv
from rules.session_fields import parse_new, parse_values, split_fields
from storage.models import Session

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.fromisoformat("2026-11-22T10:00:00+01:00")
HOUR = timedelta(hours=1)


def test_pipe_and_multiline_forms_agree():
    pipe = parse_new(
        "Kommunale Wärmeplanung | Do 10.12. 14–15 Uhr | Plätze: 30 | Link: https://m.example.org/w",
        NOW,
        BERLIN,
        None,
        HOUR,
    )
    lines = parse_new(
        "\n".join(
            [
                "Titel: Kommunale Wärmeplanung",
                "Wann: Do 10.12. 14–15 Uhr",
                "Plätze: 30",
                "Link: https://m.example.org/w",
            ]
        ),
        NOW,
        BERLIN,
        None,
        HOUR,
    )
    assert pipe == lines
    assert pipe["starts_at"].isoformat() == "2026-12-10T14:00:00+01:00"
    assert pipe["capacity"] == 30


def test_all_fields_of_the_multiline_form():
    values = parse_new(
        "\n".join(
            [
                "Titel: OZG in der Praxis",
                "Wann: 14.01.2027 10 Uhr",
                "Input: Online-Dienste, die genutzt werden",
                "Referent/in: Kreis Paderborn",
                "Beschreibung: Zeile eins",
                "Plätze: unbegrenzt",
                "Anmeldeschluss: 12.01.2027 12 Uhr",
                "Region: beide",
            ]
        ),
        NOW,
        BERLIN,
        25,
        HOUR,
    )
    assert values["ends_at"] - values["starts_at"] == HOUR
    assert values["talk"] == "Online-Dienste, die genutzt werden" and values["speaker"] == "Kreis Paderborn"
    assert values["capacity"] is None and values["region"] == "Bielefeld, Paderborn"
    assert values["registration_deadline"].isoformat() == "2027-01-12T12:00:00+01:00"


def test_default_capacity_applies_when_none_given():
    assert parse_new("A | morgen 10 Uhr", NOW, BERLIN, 25, HOUR)["capacity"] == 25


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "sessions.new_usage"),
        ("Nur ein Titel", "sessions.new_usage"),
        ("Titel: Ohne Datum\nPlätze: 3", "sessions.new_usage"),
        ("A | morgen 10 Uhr | Farbe: blau", "fields.unknown"),
        ("A | morgen 10 Uhr | Plätze: 0", "fields.bad_capacity"),
        ("A | morgen 10 Uhr | Link: javascript:alert(1)", "fields.bad_link"),
        ("A | morgen 10 Uhr | Region: Detmold", "fields.bad_region"),
        ("A | morgen 10 Uhr | Plätze: 3 | Plätze: 4", "fields.twice"),
        ("A | morgen 10 Uhr | Anmeldeschluss: übermorgen 10 Uhr", "fields.deadline_after_start"),
        ("A | gestern 10 Uhr", "dates.past"),
        (f"{'x' * 201} | morgen 10 Uhr", "fields.too_long"),
    ],
)
def test_refusals(args, key):
    with pytest.raises(UserError) as info:
        parse_new(args, NOW, BERLIN, None, HOUR)
    assert info.value.key == key


def test_changes_keep_the_duration_when_only_a_start_is_given():
    values = parse_values(split_fields("Wann: 11.12. 9 Uhr"), NOW, BERLIN, timedelta(hours=2))
    assert values["ends_at"] - values["starts_at"] == timedelta(hours=2)
    assert parse_values(split_fields("Link:"), NOW, BERLIN, HOUR) == {"link": None}


def session(**overrides) -> Session:
    start = datetime(2026, 12, 10, 13, tzinfo=UTC)
    fields = {
        "id": 7,
        "title": "Wärme; planen, gemeinsam",
        "starts_at": start,
        "ends_at": start + HOUR,
        "room_id": "!r:l",
        "created_by": "@a:l",
        "created_at": start,
        "link": "https://meet.example.org/w",
        "talk": "Input",
        "speaker": "Stadt Gütersloh",
        "sequence": 0,
    }
    return Session(**{**fields, **overrides})


def test_calendar_file_parses_back():
    calendar = Calendar.from_ical(session_calendar(session(), BERLIN, NOW, "example.org"))
    assert str(calendar["method"]) == "PUBLISH"
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    (event,) = calendar.walk("VEVENT")
    assert str(event["uid"]) == "regiobot-session-7@example.org"
    assert event.decoded("dtstart") == datetime(2026, 12, 10, 14, tzinfo=BERLIN)
    assert event["dtstart"].params["TZID"] == "Europe/Berlin"
    assert str(event["summary"]) == "Wärme; planen, gemeinsam"
    assert "https://meet.example.org/w" in str(event["description"])
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(minutes=15)


def test_cancelled_calendar_file_cancels_the_same_entry():
    cancelled = Calendar.from_ical(
        session_calendar(session(status="cancelled", sequence=2), BERLIN, NOW, "example.org")
    )
    assert str(cancelled["method"]) == "CANCEL"
    (event,) = cancelled.walk("VEVENT")
    assert str(event["uid"]) == "regiobot-session-7@example.org"
    assert event["sequence"] == 2 and str(event["status"]) == "CANCELLED"
    assert event.walk("VALARM") == []


def test_participants_csv_parses_back_and_defuses_formulas():
    at = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    data = participants_csv(
        [
            Participant("Bernd Beispiel", "@bernd:l", "Stadt Bielefeld", "registered", None, at),
            Participant('=HYPERLINK("x")', "@clara:l", None, "waitlisted", 1, at),
        ],
        BERLIN,
    )
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Name", "Matrix-ID", "Kommune", "Status", "Wartelistenplatz", "Angemeldet am"]
    assert rows[1] == ["Bernd Beispiel", "'@bernd:l", "Stadt Bielefeld", "angemeldet", "", "20.11.2026 09:30"]
    assert rows[2][0] == '\'=HYPERLINK("x")' and rows[2][3:5] == ["Warteliste", "1"]
