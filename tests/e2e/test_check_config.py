"""`regiobot check-config` against a real Synapse: a working setup, and each way it can break."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import Config
from bot.devserver import free_port
from tests.e2e.people import shared_room

pytestmark = pytest.mark.e2e
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


def write_config(path: Path, config: Config, **matrix: str) -> Path:
    """The TOML file for `config`, with [matrix] keys replaced by `matrix`."""
    values: dict[str, Any] = {
        "homeserver": config.matrix.homeserver,
        "user_id": config.matrix.user_id,
        "password": config.matrix.password,
        "device_id": config.matrix.device_id,
        "store_key": config.matrix.store_key,
        **matrix,
    }
    lines = [
        "[matrix]",
        *(f"{k} = {json.dumps(v)}" for k, v in values.items()),
        "[storage]",
        f"url = {json.dumps(config.storage_url)}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def check_config(path: Path) -> tuple[int, str]:
    """Run `regiobot check-config` as the admin would; exit status and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check-config",
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode()


async def test_a_working_setup_then_rooms_where_the_bot_cannot_work(people, bot_config, run_bot, tmp_path):
    anna = await people("anna")
    config = await bot_config(coordinators=[anna.user_id])
    bot = await run_bot(config)
    room = await shared_room(anna, bot.user_id)
    path = write_config(tmp_path / "config.toml", config)

    devices_before = {d.id for d in (await bot.bot.client.devices()).devices}
    status, output = await check_config(path)
    assert status == 0, output
    assert f"✓ Anmeldung als {bot.user_id} klappt" in output
    assert "✓ Datenbank antwortet (sqlite)" in output
    assert "✓ Schlüsselspeicher in" in output and "öffnet sich mit REGIOBOT_STORE_KEY" in output
    assert "„Regiopol Akademie (Test)“" in output and "Power-Level 0, darf schreiben" in output
    assert output.rstrip().endswith("Alles in Ordnung. / All good.")

    # The check used a device of its own and removed it; the bot, running all along, still answers.
    assert {d.id for d in (await bot.bot.client.devices()).devices} == devices_before
    assert config.matrix.device_id in devices_before
    assert "keine Termine" in (await anna.ask(room, "!termine"))["content"]["body"]

    read_only = await anna.client.room_create(name="Nur lesen", invite=[bot.user_id])
    secret = await anna.client.room_create(name="Vertraulich", invite=[bot.user_id], initial_state=[ENCRYPTION])
    for room in (read_only.room_id, secret.room_id):
        await anna.wait_for(
            lambda e, room=room: (
                e["room_id"] == room and e.get("state_key") == bot.user_id and e["content"].get("membership") == "join"
            )
        )
    # Made read-only after the bot joined and said hello (a room where it may not post from the
    # start it leaves at once, after telling whoever invited it: see test_delivery.py).
    await anna.wait_for(
        lambda e: e["room_id"] == read_only.room_id and e["sender"] == bot.user_id and e["type"] == "m.room.message"
    )
    levels = await anna.client.room_get_state_event(read_only.room_id, "m.room.power_levels")
    await anna.client.room_put_state(read_only.room_id, "m.room.power_levels", {**levels.content, "events_default": 50})

    status, output = await check_config(path)
    assert status == 2, output
    assert "✗ Raum „Nur lesen“" in output and "Power-Level 0, Nachrichten brauchen 50" in output
    assert "✓ Raum „Vertraulich“" in output  # encrypted rooms are fine
    assert "Probleme gefunden: 1. / Problems found: 1." in output

    # The bot's key store opens only with its own key; without one nothing starts.
    status, output = await check_config(
        write_config(tmp_path / "wrong.toml", config, store_key="ein-anderer-schluessel")
    )
    assert (
        status == 2 and "✗ Schlüsselspeicher" in output and "öffnet sich mit diesem REGIOBOT_STORE_KEY nicht" in output
    )
    status, output = await check_config(write_config(tmp_path / "none.toml", config, store_key=""))
    assert status == 2 and "[matrix] store_key: fehlt" in output and "REGIOBOT_STORE_KEY" in output


async def test_wrong_password(bot_config, tmp_path):
    config = await bot_config()
    status, output = await check_config(write_config(tmp_path / "config.toml", config, password="falsch"))
    assert status == 2
    assert f"✗ Anmeldung als {config.matrix.user_id} abgelehnt (Invalid username or password)" in output
    assert "Traceback" not in output


async def test_unreachable_homeserver(bot_config, tmp_path):
    config = await bot_config()
    closed = f"http://127.0.0.1:{free_port()}"
    status, output = await check_config(write_config(tmp_path / "config.toml", config, homeserver=closed))
    assert status == 2
    assert f"✗ Homeserver {closed} nicht erreichbar" in output and "Traceback" not in output


@pytest.mark.parametrize(
    ("line", "key"), [('language = "fr"', "[bot] language"), ('timezone = "Europe/Bielefeld"', "[bot] timezone")]
)
async def test_bad_key(bot_config, tmp_path, capsys, line, key):
    path = write_config(tmp_path / "config.toml", await bot_config())
    path.write_text(path.read_text() + f"[bot]\n{line}\n")
    assert main(["check-config", "--config", str(path)]) == 2
    assert f"Konfigurationsfehler / configuration error: {key}" in capsys.readouterr().err
