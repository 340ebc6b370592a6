"""Log output: JSON lines or text, one line per command, and nothing personal at INFO."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import ROUTERS
from bot.dispatch import UNKNOWN_COMMAND, Incoming
from bot.logs import JsonFormatter, TextFormatter, setup_logging
from bot.routing import Router
from tests.unit.fakes import configured, dispatcher_for

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
COORDINATOR = "@anna:localhost"
broken = Router("broken")


@broken.command("kaputt", help="help.help")
async def explode(ctx):
    raise RuntimeError("internal detail")


def record(message: str = "command %s: %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord(
        {
            "name": "bot.dispatch",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": message,
            "args": args or ("termine", "ok"),
            "created": datetime(2026, 11, 22, 9, 0, 0, 250000, tzinfo=UTC).timestamp(),
        }
    )
    made.__dict__.update(extra)
    return made


def test_json_line_has_time_level_logger_message_and_extra_fields():
    line = JsonFormatter().format(record(command="termine", outcome="ok", duration_ms=12))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-11-22T09:00:00.250+00:00",
        "level": "INFO",
        "logger": "bot.dispatch",
        "message": "command termine: ok",
        "command": "termine",
        "outcome": "ok",
        "duration_ms": 12,
    }


def test_json_line_carries_the_traceback_in_one_field():
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.makeLogRecord({"msg": "failed", "levelname": "ERROR", "exc_info": sys.exc_info()})
    parsed = json.loads(JsonFormatter().format(failed))
    assert parsed["message"] == "failed"
    assert parsed["exception"].startswith("Traceback") and "ValueError: boom" in parsed["exception"]


def test_text_line_for_people():
    line = TextFormatter().format(record())
    assert line.endswith(" INFO bot.dispatch: command termine: ok")
    assert line.startswith("2026-11-22 ")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "json_lines"), [(io.StringIO(), True), (Terminal(), False)])
def test_setup_picks_json_unless_on_a_terminal(stream, json_lines):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(stream, {"REGIOBOT_LOG_LEVEL": "debug"})
        logging.getLogger("bot.test").debug("hello %s", "there", extra={"answer": 42})
        logging.getLogger("nio.test").info("chatter")
    finally:
        root.handlers, root.level = saved
    output = stream.getvalue().strip()
    assert "chatter" not in output
    if json_lines:
        assert json.loads(output)["message"] == "hello there" and json.loads(output)["answer"] == 42
    else:
        assert output.endswith("DEBUG bot.test: hello there")


async def test_one_line_per_command_without_personal_data(tmp_path, caplog, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    observed: list[tuple[str, str, float]] = []
    dispatcher = dispatcher_for(config, db, [*ROUTERS, broken], lambda *seen: observed.append(seen))
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    commands = [
        (COORDINATOR, f"!termin neu Geheimprojekt | {start} | Plätze: 1"),
        ("@bernd.meier:localhost", "!anmelden #1 Gemeinde Hövelhof"),
        ("@bernd.meier:localhost", "!anmelden #1 Gemeinde Hövelhof"),
        ("@bernd.meier:localhost", "!passwortvergessen Bernd"),
        (COORDINATOR, "!kaputt"),
    ]
    with caplog.at_level(logging.DEBUG, logger="bot"):
        for number, (sender, body) in enumerate(commands):
            await dispatcher.handle(Incoming("!room:localhost", sender, f"$c{number}", body, None), NOW)
    await db.close()

    lines = [r for r in caplog.records if r.name == "bot.dispatch" and hasattr(r, "outcome")]
    assert [(r.command, r.outcome, r.levelname) for r in lines] == [
        ("termin neu", "ok", "INFO"),
        ("anmelden", "ok", "INFO"),
        ("anmelden", "refused", "INFO"),
        (UNKNOWN_COMMAND, "refused", "INFO"),
        ("kaputt", "failed", "ERROR"),
    ]
    assert all(isinstance(r.duration_ms, int) and r.duration_ms >= 0 for r in lines)
    assert lines[2].detail == "registration.already_registered"
    assert lines[4].exc_info and lines[4].detail.startswith("Ref. ")
    assert lines[4].detail.removeprefix("Ref. ") in dispatcher.outbox.bodies()[-1]
    assert [(name, outcome) for name, outcome, _ in observed] == [(r.command, r.outcome) for r in lines]

    said = " ".join(
        r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records if r.levelno >= logging.INFO
    )
    for personal in ("bernd", "anna", "Hövelhof", "Geheimprojekt", "passwortvergessen"):
        assert personal not in said
