"""Every command against every role and every kind of room.

Roles come from the config lists everywhere and from power levels only in official rooms; for a
command about a session, from the power in that session's room. Power in a room of one's own (a
room one created, a direct chat opened with `trusted_private_chat`, a room of version 12 whose
creator outranks every power level) gives no role at all. (Users of servers that are not allowed
never reach the dispatcher; that is an end-to-end test.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.app import ROUTERS
from bot.dispatch import Incoming
from bot.roles import Role
from bot.routing import CommandSet
from rules.i18n import entry
from tests.unit.fakes import NOW, FakeRooms, configured, dispatcher_for

SESSION_ROOM, OWN_ROOM, DIRECT = "!session:localhost", "!own:localhost", "!dm:localhost"
CONFIG_COORDINATOR = "@coord:localhost"
POWER_COORDINATOR = "@plcoord:localhost"  # power level 100 in the session's room
OWN_ROOM_COORDINATOR = "@owner:localhost"  # power level 100 only in a room of their own (or a DM)
MODERATOR = "@mod:localhost"  # power level 50 in the session's room
STAFF = "@staff:localhost"
PEOPLE = (CONFIG_COORDINATOR, POWER_COORDINATOR, OWN_ROOM_COORDINATOR, MODERATOR, STAFF)
ROOMS = (SESSION_ROOM, OWN_ROOM, DIRECT)

START = (NOW + timedelta(days=5)).astimezone().strftime("%d.%m.%Y %H:%M")
SERIES = f"{(NOW + timedelta(days=5)).astimezone():%d.%m.%Y}, {(NOW + timedelta(days=12)).astimezone():%d.%m.%Y} 14 Uhr"
# Arguments for every command; True where the command acts on session #1 (role needed in its room).
EXAMPLES: dict[str, tuple[str, bool]] = {
    "hilfe": ("", False),
    "termine": ("", False),
    "termin": ("#1", False),
    "kalender": ("#1", False),
    "anmelden": ("#1", False),
    "abmelden": ("#1", False),
    "meine": ("", False),
    "erinnerung": ("an", False),
    "archiv": ("", False),
    "termin neu": (f"Test | {START}", False),
    "reihe neu": (f"Test | {SERIES}", False),
    "reihe": ("1", False),
    "termin ändern": ("#1 Plätze: 12", True),
    "termin absagen": ("#1 Test", True),
    "teilnehmer": ("#1", True),
    "protokoll": ("#1 https://example.org/p.pdf", True),
    "material": ("#1 https://example.org/f.pdf Folien", True),
    "nachbereitung": ("#1 Danke!", True),
    "status": ("", False),
    "meine-daten": ("", False),
    "frage": ("#1 Wie lange hat es gedauert?", False),
    "fragerunde start": ("#1", True),
    "fragerunde ende": ("#1", True),
    "fragen": ("#1", True),
    "beantwortet": ("1", False),  # a question of the round in this room
    "verbergen": ("1", False),
    "daten-löschen": ("", False),
    "raum freischalten": ("beide", False),
    "raum sperren": ("", False),
    "thema": ("Mobiles Arbeiten | Dienstvereinbarungen im Vergleich", False),
    "themen": ("", False),
    "feedback": ("#1", False),
    "auswertung": ("#1", True),
    "umfrage": ("#1", True),
    "kommune": ("Verl", False),
    "raum brett": ("", False),
    "biete": ("Vergabe: Zentrale Vergabestelle | Wir übernehmen Ausschreibungen", False),
    "suche": ("Personal: Bauhof-Pool", False),
    "markt": ("Vergabestelle", False),
    "kontakt": ("A1", False),
    "eintrag": ("A1 erledigt", False),
    "statistik": ("2026", False),
    "kalender abonnieren": ("", False),
    "kalender abbestellen": ("", False),
    "web": ("", False),
    "web abmelden": ("", False),
    "raum widget": ("", False),
}
CONFIG_ONLY = ("raum freischalten", "raum sperren", "raum brett")
REFUSALS = ("vorbehalten", "nicht die Rolle")


def expected_allowed(command_role: Role, name: str, session_bound: bool, person: str, room: str) -> bool:
    if command_role == Role.STAFF:
        return True
    if person == CONFIG_COORDINATOR:
        return True
    if name in CONFIG_ONLY:
        return False
    if person == POWER_COORDINATOR or (person == MODERATOR and command_role == Role.MODERATOR):
        return room == SESSION_ROOM  # the only official room
    return False  # power in a room of one's own is no role


def test_every_command_has_an_example():
    assert {c.name for c in CommandSet(ROUTERS).commands} == set(EXAMPLES)


@pytest.fixture
async def dispatcher(tmp_path, migrated_url):
    config, db = await configured(tmp_path, CONFIG_COORDINATOR, migrated_url, rooms={SESSION_ROOM: "Bielefeld"})
    rooms = FakeRooms()
    rooms.levels.update(
        {
            (SESSION_ROOM, POWER_COORDINATOR): 100,
            (SESSION_ROOM, MODERATOR): 50,
            (OWN_ROOM, OWN_ROOM_COORDINATOR): 100,
            (DIRECT, OWN_ROOM_COORDINATOR): 100,  # trusted_private_chat: the invitee gets 100 too
            (DIRECT, STAFF): 100,
            (OWN_ROOM, STAFF): 2**53 - 1,  # room version 12: the creator outranks the power-level map
        }
    )
    dispatcher = dispatcher_for(config, db, rooms=rooms)
    outbox = dispatcher.outbox
    await dispatcher.handle(
        Incoming(SESSION_ROOM, CONFIG_COORDINATOR, "$setup", f"!termin neu Fördermittel | {START}", None), NOW
    )
    assert "angelegt" in outbox.bodies()[-1]
    yield dispatcher, outbox
    await db.close()


@pytest.mark.parametrize("room", ROOMS)
@pytest.mark.parametrize("person", PEOPLE)
async def test_permissions(dispatcher, person, room, caplog):
    caplog.set_level(logging.INFO)
    dispatcher, outbox = dispatcher
    for number, command in enumerate(dispatcher.commands.commands):
        args, session_bound = EXAMPLES[command.name]
        before = len(outbox.sent)
        await dispatcher.handle(
            Incoming(
                room,
                person,
                f"$c{number}",
                f"!{command.name} {args}",
                None,
                sent_at=NOW + timedelta(seconds=10 * number),
            ),
            NOW,
        )  # no flooding
        answers = outbox.bodies()[before:]
        assert answers, f"!{command.name} got no answer"
        refused = any(phrase in answers[-1] for phrase in REFUSALS)
        allowed = expected_allowed(command.role, command.name, session_bound, person, room)
        assert refused != allowed, f"!{command.name} by {person} in {room}: {answers[-1]}"
        assert not any("Ref." in answer for answer in answers), answers
    personal = [
        r.getMessage()
        for r in caplog.records
        if r.levelno <= logging.INFO and ("@" in r.getMessage() or "Fördermittel" in r.getMessage())
    ]
    assert personal == [], "personal data logged at INFO"


@pytest.mark.parametrize("language", ["de", "en"])
def test_help_texts_leave_the_arguments_to_the_usage_line(language: str):
    """`!hilfe` builds each usage line from the declared arguments; a help text that named them
    again would show them twice (`!termin #N #N – …`)."""
    for command in CommandSet(ROUTERS).commands:
        text = entry(command.help_key, language)
        assert isinstance(text, str) and text.startswith("– "), (command.name, text)
