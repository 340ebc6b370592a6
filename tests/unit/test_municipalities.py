"""The municipalities' directory and matcher (pure), the config's changes to it, and `!kommune`
with the registrations that record it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from bot.dispatch import Incoming
from rules.municipalities import Outcome, allowed_typos, distance, match, shipped
from storage import municipalities, registrations
from tests.unit.fakes import COORDINATOR, NOW

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
