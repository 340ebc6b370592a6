"""The routes declared in `commands` (handlers imported on first use): every one names a handler
that exists and takes the declared arguments, every command word routes to its command, and the
start imports no handler module and no library that the bot loads only on first use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.imports import ON_FIRST_USE
from bot.app import ROUTERS
from bot.routing import CommandSet, Later, check_parameters, parse_invocation

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = CommandSet(ROUTERS)
HANDLER_MODULES = sorted(p.stem for p in (ROOT / "commands").glob("*.py") if p.stem != "__init__")


def test_every_route_is_taken_later_from_its_module():
    """The start declares routes only: each handler is a `Later` of a handler module."""
    handlers = [
        *(c.handler for c in COMMANDS.commands),
        *(x.handler for x in COMMANDS.reactions),
        *(x.handler for x in COMMANDS.redactions),
        *(x.handler for x in [*COMMANDS.listeners, *COMMANDS.replies]),
    ]
    assert all(isinstance(h, Later) for h in handlers)
    assert {h.module for h in handlers if isinstance(h, Later)} == {f"commands.{m}" for m in HANDLER_MODULES}


def test_every_command_handler_exists_and_takes_its_declared_arguments():
    for command in COMMANDS.commands:
        assert isinstance(command.handler, Later)
        check_parameters(command.name, command.handler.resolve(), [arg.name for arg in command.args])


@pytest.mark.parametrize("route", [*COMMANDS.reactions, *COMMANDS.redactions], ids=lambda r: r.name)
def test_every_reaction_and_redaction_handler_exists(route):
    assert isinstance(route.handler, Later)
    assert callable(route.handler.resolve())


def test_every_thread_and_reply_listener_exists():
    for listener in [*COMMANDS.listeners, *COMMANDS.replies]:
        assert isinstance(listener.handler, Later)
        assert callable(listener.handler.resolve())


@pytest.mark.parametrize("name", sorted({n for c in COMMANDS.commands for n in c.names}))
def test_every_command_word_routes_to_its_command(name):
    invocation = parse_invocation(f"!{name}", "!")
    assert invocation is not None
    resolved = COMMANDS.resolve(invocation)
    assert resolved is not None and name in resolved[0].names


def test_the_feedback_digits_route_each_to_its_rating():
    ratings = {}
    for reaction in COMMANDS.reactions:
        assert isinstance(reaction.handler, Later)
        if reaction.handler.__name__ == "feedback_rating":
            ratings.update(dict.fromkeys(reaction.keys, reaction.handler.bound["rating"]))
    assert ratings["1️⃣"] == 1 and ratings["5\u20e3"] == 5 and set(ratings.values()) == {1, 2, 3, 4, 5}


START = """
import json, sys
import bot.app, bot.cli
print(json.dumps(sorted(sys.modules)))
"""


def test_the_start_imports_no_handler_module_nor_a_library_loaded_on_first_use():
    """What `regiobot run` imports before its first event: the routes, not the handlers (nor the use
    cases only they need), and none of the libraries `bench.imports` counts as loaded on first use."""
    output = subprocess.run([sys.executable, "-c", START], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(json.loads(output.stdout))
    assert "commands" in loaded
    assert not {f"commands.{m}" for m in HANDLER_MODULES} & loaded
    assert not {"services.registration", "services.qa", "services.statistics", "services.board"} & loaded
    later = {name for _, modules in ON_FIRST_USE for name in modules}
    assert not later & loaded
