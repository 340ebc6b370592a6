"""Series through the dispatcher (no homeserver): created in one go, registered for with one
command and with ✅ on its announcement, left part by part or as a whole, changed for every part
ahead, one calendar file, grouped in lists."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from bot.dispatch import EventKind, Incoming
from rules.series import group_by_series, parse_series
from storage.models import Registration, RegistrationStatus, Session
from tests.postgres import on_both_databases
from tests.unit.fakes import NOW, configured, dispatcher_for

ROOM = "!room:localhost"
COORD, BERND, CLARA = "@anna:localhost", "@bernd:localhost", "@clara:localhost"
CREATE = """!reihe neu Online-Transferreihe | donnerstags 14–16 Uhr vom 26.11. bis 17.12.
Teil 1: Verwaltung transformieren – Effizienz steigern
Teil 2: Mobiles Arbeiten
Teil 3: Gemeinsame Beschaffung
Teil 4: Fördermittelberatung
Plätze: 1"""


@pytest.fixture
async def dispatcher(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORD, storage_url=migrated_url)
    yield dispatcher_for(config, db)
    await db.close()


async def say(dispatcher, sender, body, event_id=None):
    event_id = event_id or f"${len(dispatcher.outbox.sent)}-{sender}-{body[:12]}"
    await dispatcher.handle(Incoming(ROOM, sender, event_id, body), NOW)
    answers = [c for _, c, _ in dispatcher.outbox.sent if replied_to(c) == event_id]
    return answers[-1]["body"]


def replied_to(content):
    return content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")


async def registrations(dispatcher, user_id):
    async with dispatcher.db.transaction() as s:
        rows = (await s.exec(Registration.__table__.select().where(Registration.user_id == user_id))).all()
    return {row.session_id: row.status for row in rows}


@on_both_databases
async def test_a_series_from_creation_to_leaving(dispatcher):
    outbox = dispatcher.outbox
    answer = await say(dispatcher, COORD, CREATE)
    assert "Reihe 1" in answer and "4 Terminen" in answer
    for day in ("26. November", "3. Dezember", "10. Dezember", "17. Dezember"):
        assert f"Donnerstag, {day} 2026, 14:00–16:00 Uhr" in answer
    assert "Teil 1 · #1 ·" in answer and "Verwaltung transformieren – Effizienz steigern" in answer
    announcement = next((room, event) for event, (room, c, _) in enumerate(outbox.sent, 1) if "Neue Reihe" in c["body"])
    assert announcement[0] == ROOM
    async with dispatcher.db.transaction() as s:
        parts = (await s.exec(Session.__table__.select().order_by(Session.id))).all()
    assert [(p.series_id, p.capacity, p.title) for p in parts][3] == (1, 1, "Fördermittelberatung")

    answer = await say(dispatcher, BERND, "!anmelden Reihe 1")
    assert answer.count(": angemeldet") == 4
    # ✅ on the series' announcement: every part, answered privately, all on the waiting list.
    await dispatcher.handle(
        Incoming(ROOM, CLARA, "$tick", kind=EventKind.REACTION, key="✅", target=f"$event{announcement[1]}"), NOW
    )
    assert outbox.sent[-1][0] == f"!dm-{CLARA}"
    assert outbox.bodies()[-1].count("Warteliste, Platz 1") == 4
    assert set((await registrations(dispatcher, CLARA)).values()) == {RegistrationStatus.WAITLISTED}

    answer = await say(dispatcher, BERND, "!anmelden Reihe 1")
    assert answer.count("bereits angemeldet") == 4

    await say(dispatcher, BERND, "!abmelden #2")
    assert any(
        room == f"!dm-{CLARA}" and "#2" in c["body"] and "frei geworden" in c["body"] for room, c, _ in outbox.sent
    )
    assert (await registrations(dispatcher, CLARA))[2] == RegistrationStatus.REGISTERED

    listing = await say(dispatcher, BERND, "!termine")
    assert "Reihe 1: Online-Transferreihe" in listing and listing.count("↳") == 4

    mine = await say(dispatcher, BERND, "!meine")
    assert "Reihe 1: Online-Transferreihe" in mine and mine.count("↳") == 3 and "#2" not in mine

    await say(dispatcher, BERND, "!kalender Reihe 1")
    events = Calendar.from_ical(outbox.uploads[-1]).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"regiobot-session-{n}@localhost" for n in (1, 2, 3, 4)]

    changed = await say(dispatcher, COORD, "!termin ändern Reihe 1 Wann: 15–17 Uhr\nLink: https://meet.example.org/r")
    assert changed.count("15:00–17:00 Uhr") == 4
    notices = [c["body"] for room, c, _ in outbox.sent if room == f"!dm-{BERND}" and "hat sich geändert" in c["body"]]
    assert len(notices) == 1 and notices[0].count("15:00–17:00") == 3  # one notice for the three parts of his
    assert any("m.new_content" in c and "15:00–17:00" in c["m.new_content"]["body"] for _, c, _ in outbox.sent)

    # Taking the ✅ back leaves every part it registered for.
    await dispatcher.handle(Incoming(ROOM, CLARA, "$untick", kind=EventKind.REDACTION, target="$tick"), NOW)
    assert outbox.sent[-1][0] == f"!dm-{CLARA}"
    assert outbox.bodies()[-1].count("von der Warteliste genommen") == 3 and "#2" in outbox.bodies()[-1]
    assert set((await registrations(dispatcher, CLARA)).values()) == {RegistrationStatus.CANCELLED}

    left = await say(dispatcher, BERND, "!abmelden Reihe 1")
    assert left.count("abgemeldet") == 3
    assert "keinen kommenden Teil" in await say(dispatcher, BERND, "!abmelden Reihe 1")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!reihe neu Eins | 26.11. 14 Uhr", "mindestens zwei"),
        ("!reihe neu Zwei | donnerstags 14 Uhr vom 26.11. bis 3.12.\nTeil 1: A", "1 Teil-Titel"),
        ("!reihe neu Drei | 26.11., 3.12. 14 Uhr | Anmeldeschluss: 25.11. 12 Uhr", "für jeden Teil einzeln"),
        ("!reihe neu Vier | Do 26.11., 4.12. 14 Uhr", "passen nicht zusammen"),
        ("!reihe neu Fünf", "So legen Sie eine Reihe an"),
        ("!anmelden Reihe 9", "Reihe 9 gibt es nicht"),
    ],
)
async def test_refusals_say_how_to_do_it(dispatcher, body, expected):
    assert expected in await say(dispatcher, COORD, body)


async def test_staff_cannot_create_a_series(dispatcher):
    assert "vorbehalten" in await say(dispatcher, BERND, "!reihe neu X | 26.11., 3.12. 14 Uhr")


async def test_a_series_time_change_refuses_a_date(dispatcher):
    await say(dispatcher, COORD, "!reihe neu X | 26.11., 3.12. 14 Uhr")
    assert "nur die Uhrzeit" in await say(dispatcher, COORD, "!termin ändern Reihe 1 Wann: 27.11. 15 Uhr")
    assert "Reihe 1" in await say(dispatcher, COORD, "!termin ändern Reihe 1 Titel: Y")
    assert "Y" in await say(dispatcher, BERND, "!reihe 1")


def test_parts_without_titles_and_fields_for_all():
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    plan = parse_series(
        "Titel: Fachwerkstatt\nWann: 26.11., 3.12. 10-11 Uhr\nPlätze: 20\nLink: https://x.example",
        NOW,
        ZoneInfo("Europe/Berlin"),
        None,
        timedelta(hours=1),
    )
    assert plan.title == "Fachwerkstatt" and [p.title for p in plan.parts] == [None, None]
    assert plan.values == {"capacity": 20, "link": "https://x.example"}


def test_grouping_keeps_order_and_gathers_a_series_where_it_begins():
    items = [("a", None), ("b", 1), ("c", None), ("d", 1), ("e", 2)]
    groups = group_by_series(items, lambda x: x[1])
    assert [(n, [x[0] for x in xs]) for n, xs in groups] == [(None, ["a"]), (1, ["b", "d"]), (None, ["c"]), (2, ["e"])]


async def test_the_series_announcement_follows_a_single_part(dispatcher):
    await say(dispatcher, COORD, "!reihe neu Fachwerkstatt | 26.11., 3.12., 10.12. 10 Uhr")
    announcement = next(n for n, (_, c, _) in enumerate(dispatcher.outbox.sent, 1) if "Neue Reihe" in c["body"])
    await say(dispatcher, COORD, "!termin absagen #2 Krankheit")
    await say(dispatcher, COORD, "!termin ändern #3 Wann: 10.12. 11 Uhr")
    edits = [
        c for _, c, _ in dispatcher.outbox.sent if c.get("m.relates_to", {}).get("event_id") == f"$event{announcement}"
    ]
    assert len(edits) == 2 and "abgesagt" in edits[0]["m.new_content"]["body"]
    assert "10. Dezember 2026, 11:00" in edits[1]["m.new_content"]["body"]
    assert "Teil 2 · #2" in await say(dispatcher, BERND, "!reihe 1")
