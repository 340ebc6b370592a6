"""The dispatcher: parsing, routing, roles, and errors turned into answers (with a real database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_config
from bot.dispatch import CommandSet, Dispatcher, Incoming, Invocation, Router, parse_invocation, strip_reply_fallback
from bot.roles import Role, role_of
from commands import help as help_commands
from commands import coordination, registration, sessions
from storage.db import Database
from tests.unit.fakes import FakeOutbox, RecordingPlans

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
COORDINATOR = "@anna:localhost"


broken = Router("broken")


@broken.command("kaputt", aliases=("broken",), help="help.help")
async def explode(ctx, args):
    raise RuntimeError("secret internal detail /srv/db")


@pytest.fixture
async def bot(tmp_path: Path):
    config = parse_config({"matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:localhost",
                                      "password": "x"},
                           "roles": {"coordinators": [COORDINATOR]}}, {}, tmp_path)
    db = Database(config.storage_url)
    await db.migrate()
    outbox = FakeOutbox()
    commands = CommandSet([help_commands.router, sessions.router, registration.router, coordination.router,
                           broken])
    dispatcher = Dispatcher(config, db, outbox, RecordingPlans(), commands,
                            lambda user, level: role_of(user, config.roles, level))
    yield dispatcher, outbox
    await db.close()


def message(body: str, sender: str = "@bernd:localhost", event_id: str = "$cmd") -> Incoming:
    return Incoming("!room:localhost", sender, event_id, body, None, 0)


def test_reply_fallback_is_stripped():
    assert strip_reply_fallback("> <@a:b> hallo\n> zweite Zeile\n\n!meine") == "!meine"
    assert strip_reply_fallback("!meine\n> kein Zitat") == "!meine\n> kein Zitat"


@pytest.mark.parametrize(("body", "expected"), [
    ("!Termine", Invocation(("termine",), "")),
    ("  !anmelden #3 Stadt Bielefeld ", Invocation(("anmelden", "#3"), "#3 Stadt Bielefeld")),
    ("!termin neu\nTitel: X\nWann: morgen", Invocation(("termin", "neu"), "neu\nTitel: X\nWann: morgen")),
    ("!", None), ("!!!", None), ("! termine", None), ("!3", None), ("hallo !termine", None), ("", None),
])
def test_parse_invocation(body, expected):
    assert parse_invocation(body, "!") == expected


def test_two_word_commands_win_and_names_are_unique():
    commands = CommandSet([sessions.router, coordination.router])
    command, args = commands.resolve(Invocation(("termin", "neu"), "neu A | B"))
    assert command.name == "termin neu" and args == "A | B"
    command, args = commands.resolve(Invocation(("termin", "#2"), "#2"))
    assert command.name == "termin" and args == "#2"
    with pytest.raises(ValueError):
        CommandSet([sessions.router, sessions.router])


def test_roles_from_lists_and_power_levels():
    config = parse_config({"matrix": {"homeserver": "http://x", "user_id": "@b:x", "password": "p"},
                           "roles": {"moderators": ["@mo:x"]}}, {}, Path("."))
    assert role_of("@mo:x", config.roles, 0) == Role.MODERATOR
    assert role_of("@any:x", config.roles, 50) == Role.MODERATOR
    assert role_of("@any:x", config.roles, 100) == Role.COORDINATOR
    assert role_of("@any:x", config.roles, 0) == Role.STAFF


async def test_unexpected_error_gives_reference_not_details(bot, caplog):
    dispatcher, outbox = bot
    assert await dispatcher.handle(message("!kaputt"), NOW)
    (answer,) = outbox.bodies()
    assert "Ref." in answer and "secret" not in answer and "RuntimeError" not in answer
    reference = answer.split("Ref. ")[1][:6]
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)


async def test_not_a_command_is_ignored(bot):
    dispatcher, outbox = bot
    assert not await dispatcher.handle(message("Guten Morgen!"), NOW)
    assert outbox.sent == []


async def test_answers_reply_to_the_command_with_stable_transaction_ids(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(message("!termine", event_id="$one"), NOW)
    await dispatcher.handle(message("!termine", event_id="$one"), NOW)
    first, second = outbox.sent
    assert first[2] == second[2]  # a retried command reuses the transaction id
    assert first[1]["m.relates_to"] == {"m.in_reply_to": {"event_id": "$one"}}
    assert first[1]["msgtype"] == "m.notice"


async def test_last_place_taken_by_exactly_one_of_two_concurrent_registrations(bot):
    dispatcher, outbox = bot
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(message(f"!termin neu Fördermittel | {start} | Plätze: 1", sender=COORDINATOR), NOW)
    assert "#1" in outbox.bodies()[-1]
    await asyncio.gather(*(dispatcher.handle(message("!anmelden #1", sender=f"@p{i}:localhost",
                                                     event_id=f"$r{i}"), NOW) for i in range(6)))
    answers = outbox.bodies()[1:]
    assert sum("Sie sind angemeldet" in a for a in answers) == 1
    positions = sorted(int(a.split("Platz ")[1].split("**")[0].split()[0]) for a in answers if "Warteliste an" in a)
    assert positions == [1, 2, 3, 4, 5]
