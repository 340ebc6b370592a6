"""The municipalities' directory and matcher (pure), the config's changes to it, and `!kommune`
with the registrations that record it."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from bot.dispatch import Incoming
from rules.errors import UserError
from rules.municipalities import Outcome, allowed_typos, distance, match, shipped
from rules.participation import Attendance, Counts, participation, participation_csv
from services.statistics import year_figures
from storage import municipalities, purge, registrations
from storage import participation as participation_store
from storage.db import Database
from storage.models import Registration, Session
from storage.rows import row_id, save
from tests.postgres import on_both_databases
from tests.unit.fakes import COORDINATOR, NOW, FakeRooms, acting_for, configured

ROOM = "!room:localhost"
BERND = "@bernd:localhost"
DIRECTORY = shipped()


def sure(text: str) -> str | None:
    found = match(DIRECTORY, text)
    return found.name if found.outcome == Outcome.SURE else None


def asked(text: str) -> tuple[str, ...]:
    found = match(DIRECTORY, text)
    assert found.outcome == Outcome.UNSURE, found
    return found.candidates


def test_the_directory_has_both_regions_with_verl_in_both():
    assert len(DIRECTORY.regions["Bielefeld"]) == 13
    assert len(DIRECTORY.regions["Paderborn"]) == 29
    assert len(DIRECTORY.names()) == 41
    assert DIRECTORY.regions_of("Verl") == ("Bielefeld", "Paderborn")
    assert DIRECTORY.regions_of("Detmold") == ("Paderborn",)
    assert DIRECTORY.is_listed("Halle (Westf.)") and not DIRECTORY.is_listed("Halle")


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Stadt Halle", "Halle (Westf.)"),
        ("halle westf", "Halle (Westf.)"),
        ("Halle/Westfalen", "Halle (Westf.)"),
        ("HALLE (WESTF.)", "Halle (Westf.)"),
        ("Werther", "Werther (Westf.)"),
        ("Schloss Holte", "Schloß Holte-Stukenbrock"),
        ("schloss holte stukenbrock", "Schloß Holte-Stukenbrock"),
        ("SHS", "Schloß Holte-Stukenbrock"),
        ("Gemeinde Hövelhof", "Hövelhof"),
        ("Hansestadt Warburg", "Warburg"),
        ("Stadtverwaltung Bad Lippspringe", "Bad Lippspringe"),
        ("Guetersloh", "Gütersloh"),
        ("Gutersloh", "Gütersloh"),
        ("delbrueck", "Delbrück"),
        ("  Verl ", "Verl"),
    ],
)
def test_forgiving_spellings_are_sure(typed, name):
    assert sure(typed) == name


def test_verl_is_one_municipality_of_both_regions():
    found = match(DIRECTORY, "Stadt Verl")
    assert found.outcome == Outcome.SURE and found.name == "Verl"
    assert DIRECTORY.regions_of(found.name) == ("Bielefeld", "Paderborn")


@pytest.mark.parametrize(
    ("typed", "candidate"),
    [
        ("Hale", "Halle (Westf.)"),
        ("Hallle Westf", "Halle (Westf.)"),
        ("Gütersloch", "Gütersloh"),
        ("Paderbon", "Paderborn"),
        ("Lipstadt", "Lippstadt"),
        ("Höxer", "Höxter"),
        ("Schlos Holte", "Schloß Holte-Stukenbrock"),
        ("Oerlinghasuen", "Oerlinghausen"),  # two letters swapped
    ],
)
def test_a_typo_is_asked_back_never_taken_for_sure(typed, candidate):
    assert asked(typed)[0] == candidate


def test_the_first_word_of_several_names_asks_which():
    assert set(asked("Bad")) <= {"Bad Salzuflen", "Bad Driburg", "Bad Lippspringe", "Bad Wünnenberg"}
    assert len(asked("Bad")) == 3


@pytest.mark.parametrize("typed", ["Kreis Gütersloh", "Brilon", "Bezirksregierung Detmold", "x", "", "Gemeinde"])
def test_what_is_close_to_nothing_is_kept_as_free_text(typed):
    found = match(DIRECTORY, typed)
    assert found.outcome == Outcome.NONE and found.name is None and found.text == " ".join(typed.split())


def test_the_typo_budget_grows_with_the_length():
    assert [allowed_typos(n) for n in (3, 4, 7, 8, 12, 13)] == [0, 1, 1, 2, 2, 3]
    assert distance("halle", "hallle") == 1 and distance("oerlinghasuen", "oerlinghausen") == 1
    assert distance("", "verl") == 4 and distance("verl", "verl") == 0


def config_with(municipalities: object, tmp_path: Path):
    data = {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:localhost", "password": "x"},
        "municipalities": municipalities,
    }
    return parse_config(data, {}, tmp_path)


def test_the_config_adds_and_removes_names_per_region(tmp_path):
    config = config_with({"add": {"Paderborn": ["Bad Sassendorf"]}, "remove": {"Paderborn": ["Warstein"]}}, tmp_path)
    directory = config.municipalities
    assert "Bad Sassendorf" in directory.regions["Paderborn"] and not directory.is_listed("Warstein")
    assert match(directory, "Bad Sasendorf").candidates == ("Bad Sassendorf",)
    assert match(directory, "Warstein").outcome == Outcome.NONE
    assert config_with({}, tmp_path).municipalities == DIRECTORY


@pytest.mark.parametrize(
    "table",
    [
        {"add": {"Minden": ["Porta Westfalica"]}},
        {"remove": {"Bielefeld": ["Warstein"]}},
        {"add": {"Paderborn": "Bad Sassendorf"}},
        {"add": ["Bad Sassendorf"]},
        "Paderborn",
    ],
)
def test_the_config_refuses_changes_it_cannot_apply(table, tmp_path):
    with pytest.raises(ConfigError) as error:
        config_with(table, tmp_path)
    assert error.value.key.startswith("[municipalities]")


def say(body: str, sender: str, event_id: str) -> Incoming:
    return Incoming(ROOM, sender, event_id, body, None)


async def test_kommune_asks_back_then_sets_and_registrations_record_it(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!kommune", BERND, "$k0"), NOW)
    assert "noch keine Kommune" in outbox.bodies()[-1]
    await dispatcher.handle(say("!kommune Hallle", BERND, "$k1"), NOW)
    assert outbox.bodies()[-1] == "Meinten Sie Halle (Westf.)? Dann schreiben Sie bitte: !kommune Halle (Westf.)"
    async with dispatcher.db.transaction() as s:
        assert await municipalities.municipality_of(s, BERND) is None
    await dispatcher.handle(say("!kommune Bad", BERND, "$k1b"), NOW)
    assert outbox.bodies()[-1].startswith("Meinten Sie Bad Salzuflen, Bad Driburg oder Bad Lippspringe? ")
    await dispatcher.handle(say("!kommune stadt verl", BERND, "$k2"), NOW)
    assert outbox.bodies()[-1].startswith("Ihre Kommune: Verl (Region Bielefeld und Paderborn).")
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(say(f"!termin neu Fördermittel | {start} | Plätze: 5", COORDINATOR, "$new"), NOW)
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW)
    await dispatcher.handle(say("!kommune Kreisverwaltung Gütersloh", BERND, "$k3"), NOW)
    assert "nicht im Verzeichnis" in outbox.bodies()[-1]
    await dispatcher.handle(say("!kommune", BERND, "$k4"), NOW)
    assert "Kreisverwaltung Gütersloh (nicht im Verzeichnis der Regionen)" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:
        assert await municipalities.municipality_of(s, BERND) == "Kreisverwaltung Gütersloh"
        row = await registrations.registration(s, 1, BERND)
    assert row is not None and row.municipality == "Verl"  # the registration keeps what held then


async def test_a_municipality_typed_with_the_registration_is_matched(bot):
    dispatcher, outbox = bot
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(say(f"!termin neu Fördermittel | {start} | Plätze: 5", COORDINATOR, "$new"), NOW)
    await dispatcher.handle(say("!anmelden #1 Paderbon", BERND, "$r1"), NOW)
    assert outbox.bodies()[-1] == "Meinten Sie Paderborn? Dann schreiben Sie bitte: !anmelden #1 Paderborn"
    await dispatcher.handle(say("!anmelden #1 stadt paderborn", BERND, "$r2"), NOW)
    assert "angemeldet" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:
        row = await registrations.registration(s, 1, BERND)
    assert row is not None and row.municipality == "Paderborn"


def test_participation_counts_per_municipality_and_region_and_who_took_part_in_none():
    rows = [
        Attendance(1, "Verl", 2),
        Attendance(2, "Verl", 1),
        Attendance(2, "Gütersloh", 3),
        Attendance(3, "stadt paderborn", 1),  # an older registration's free text, surely matched
        Attendance(3, "Kreis Lippe", 2),
        Attendance(3, None, 4),
        Attendance(4, "Hallle", 1),  # only close to a name: not counted for it
    ]
    figures = participation(rows, DIRECTORY, 2026, sessions=4)
    lines = {(x.region, x.name): x.counts for x in figures.lines}
    assert lines[("Bielefeld", "Verl")] == lines[("Paderborn", "Verl")] == Counts(3, 2)
    assert lines[("Bielefeld", "Gütersloh")] == Counts(3, 1) and lines[("Paderborn", "Paderborn")] == Counts(1, 1)
    assert figures.total("Bielefeld") == Counts(6, 2) and figures.total("Paderborn") == Counts(4, 3)
    assert figures.unlisted == Counts(3, 2) and figures.unknown == Counts(4, 1)
    assert "Verl" not in figures.absent("Bielefeld") and "Halle (Westf.)" in figures.absent("Bielefeld")
    assert len(figures.absent("Paderborn")) == 27
    text = participation_csv(figures, ["Region", "Kommune", "Anmeldungen", "Termine"], "nicht im Verzeichnis", "-")
    assert text.startswith("\ufeffRegion;Kommune;Anmeldungen;Termine\r\n".encode())
    assert "Bielefeld;Verl;3;2\r\n" in text.decode() and "Paderborn;Verl;3;2\r\n" in text.decode()
    assert ";nicht im Verzeichnis;3;2\r\n" in text.decode()


def test_the_chart_library_is_loaded_only_when_a_chart_is_drawn():
    program = (
        "import sys, bot.app, commands.statistics\n"
        "assert 'PIL' not in sys.modules, 'Pillow loaded at start'\n"
        "from rules.rendering.bar_chart import Group, bar_chart\n"
        "chart = bar_chart('Anmeldungen', [Group('Region Bielefeld', [('Gütersloh', 3), ('Verl', 0)])])\n"
        "assert chart.png.startswith(b'\\x89PNG') and chart.width == 960 and chart.height > 100\n"
        "assert 'PIL' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=Path(__file__).parents[2])


async def test_statistics_go_to_the_coordinator_privately_and_are_refused_to_others(bot):
    dispatcher, outbox = bot
    start = (NOW - timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(say("!kommune Gütersloh", BERND, "$k1"), NOW - timedelta(days=10))
    await dispatcher.handle(
        say(f"!termin neu Fördermittel | {start} | Plätze: 5", COORDINATOR, "$new"), NOW - timedelta(days=10)
    )
    await dispatcher.handle(say("!anmelden #1", BERND, "$r1"), NOW - timedelta(days=10))
    await dispatcher.handle(say("!anmelden #1 Spenge", "@carla:localhost", "$r2"), NOW - timedelta(days=10))
    await dispatcher.handle(say("!statistik", BERND, "$s0"), NOW)
    assert "Koordination" in outbox.bodies()[-1] and outbox.sent[-1][0] == ROOM
    for number, wrong in enumerate(("1999", "2027", "letztes Jahr", "#2026")):
        await dispatcher.handle(say(f"!statistik {wrong}", COORDINATOR, f"$s1{number}"), NOW)
        assert "Bitte ein Jahr von 2000 bis 2026 angeben" in outbox.bodies()[-1]
    sent = len(outbox.sent)
    await dispatcher.handle(say("!statistik 2026", COORDINATOR, "$s2"), NOW)
    new = outbox.sent[sent:]
    assert {room for room, _, _ in new} == {f"!dm-{COORDINATOR}"}  # nothing in the shared room
    table, image, csv_file = (content for _, content, _ in new)
    assert "Teilnahme der Kommunen 2026** – 1 Termin" in table["formatted_body"].replace("<strong>", "**").replace(
        "</strong>", "**"
    )
    assert "Gütersloh: 1 / 1" in table["body"] and "Spenge: 1 / 1" in table["body"]
    assert "Region Bielefeld: 2 / 1 – 2 von 13 Kommunen haben teilgenommen" in table["body"]
    assert "Ohne Teilnahme (29): Paderborn" in table["body"]
    assert BERND not in table["body"] and "bernd" not in table["body"].lower()
    assert image["msgtype"] == "m.image" and image["info"]["mimetype"] == "image/png" and image["info"]["w"] == 960
    assert csv_file["msgtype"] == "m.file" and csv_file["body"] == "regiobot-statistik-2026.csv"
    assert outbox.uploads[-2].startswith(b"\x89PNG")
    assert "Bielefeld;Gütersloh;1;1" in outbox.uploads[-1].decode()


async def test_only_coordinators_get_the_statistics_whatever_the_face(tmp_path, migrated_url):
    """The use case decides the role itself: a coordinator by the config list (also on the web),
    or by power in an official room; power in a room of one's own counts for nothing."""
    config, database = await configured(tmp_path, COORDINATOR, migrated_url)
    own, dora = "!own:localhost", "@dora:localhost"
    levels = FakeRooms()
    levels.levels.update({(own, BERND): 100, (ROOM, dora): 100})
    async with database.transaction() as s:
        for room_id in (ROOM, own, ""):
            with pytest.raises(UserError) as refused:
                await year_figures(acting_for(config, BERND, room_id, levels), s, 2026)
            assert refused.value.key == "errors.role_reserved"
        assert (await year_figures(acting_for(config, dora, ROOM, levels), s, None)).year == 2026
        with pytest.raises(UserError) as refused:
            await year_figures(acting_for(config, COORDINATOR, ""), s, 1999)
        assert (refused.value.key, refused.value.params) == ("statistics.bad_year", {"first": 2000, "last": 2026})
        assert (await year_figures(acting_for(config, COORDINATOR, ""), s, 2025)).year == 2025
    await database.close()


@pytest.fixture
async def db(migrated_url):
    database = Database(migrated_url)
    yield database
    await database.close()


@on_both_databases
async def test_the_purge_keeps_the_counts_so_the_statistics_stay_right(db):
    start = NOW - timedelta(days=200)
    async with db.transaction() as s:
        for title, status in (("Fördermittel", "scheduled"), ("Abgesagt", "cancelled")):
            session = await save(
                s,
                Session(
                    title=title,
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    room_id=ROOM,
                    status=status,
                    created_by=COORDINATOR,
                    created_at=start,
                ),
            )
            for user_id, municipality, state in [
                (BERND, "Verl", "registered"),
                ("@carla:localhost", "Verl", "registered"),
                ("@dora:localhost", None, "registered"),
                ("@emil:localhost", "Verl", "waitlisted"),
            ]:
                registration = Registration(
                    session_id=row_id(session),
                    user_id=user_id,
                    status=state,
                    municipality=municipality,
                    queued_at=start,
                    updated_at=start,
                )
                await save(s, registration)
    year = (NOW - timedelta(days=300), NOW)
    async with db.transaction() as s:
        counted_before = await participation_store.attendance(s, *year)
        await purge.purge_ended(s, NOW - timedelta(days=90))
        assert await registrations.registration(s, 1, BERND) is None
        counted_after = await participation_store.attendance(s, *year)
        await purge.purge_ended(s, NOW - timedelta(days=90))  # a second purge counts nothing twice
        counted_again = await participation_store.attendance(s, *year)
    expected = {Attendance(1, "Verl", 2), Attendance(1, None, 1)}
    assert set(counted_before[0]) == set(counted_after[0]) == set(counted_again[0]) == expected
    assert counted_before[1] == counted_after[1] == 1  # the cancelled session does not count
