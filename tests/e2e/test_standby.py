"""A standby on PostgreSQL: two bot processes on one database, one active (it holds the advisory
lock), the other waiting. The active one is killed during a burst of commands with a reminder
due: the standby takes over, and every answer and the reminder are in the room once. When the
active one's lock connection is cut, it stops and the other takes over. On SQLite a second
instance refuses to start."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.config import Config
from bot.devserver import free_port
from storage.db import Database
from storage.models import Session
from storage.planned import plan_session
from storage.rows import save
from tests.e2e.people import Person, body, replied_to, room_history
from tests.e2e.processes import PROJECT, BotProcess, toml_file

pytestmark = pytest.mark.e2e
BERLIN = ZoneInfo("Europe/Berlin")
STANDBY = "another instance is active"
ACTIVE = "active: holding the lock"
SETUP = timedelta(seconds=10)  # from planning the reminder to its due time: the bots start meanwhile


async def health(port: int) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, json.loads(await response.text())


async def add_sessions(config: Config, room_id: str, reminder_in: timedelta) -> None:
    """#1 with its reminder planned `reminder_in` from now, #2 with three places, in `room_id`."""
    db = Database(config.storage_url)
    await db.migrate()
    now = datetime.now(UTC)
    try:
        async with db.transaction() as s:
            for title, starts_at, capacity in (
                ("Starkregen", now + reminder_in + config.remind_before[0], None),
                ("Vergaberecht", now + timedelta(days=30), 3),
            ):
                session = Session(
                    title=title,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=1),
                    capacity=capacity,
                    room_id=room_id,
                    created_by=next(iter(config.roles.coordinators)),
                    created_at=now,
                )
                await plan_session(s, await save(s, session), config, now)
    finally:
        await db.close()


async def cut_lock_connection(database_url: str) -> list[str]:
    """End the PostgreSQL session that holds the advisory lock (as a network failure or an
    administrator would); returns the application names of the sessions ended."""
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        rows = await connection.fetch(
            "SELECT a.application_name, pg_terminate_backend(l.pid) FROM pg_locks l"
            " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
        )
        return [row["application_name"] for row in rows]
    finally:
        await connection.close()


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
async def test_the_standby_takes_over_and_every_answer_and_reminder_arrives_once(
    people, bot_config, tmp_path, database_url
):
    anna = await people("anna")
    staff = [await people(f"staff{i}") for i in range(4)]
    schedule = {"announce_before": [], "remind_before": ["60s"], "grace": "1h"}
    config = await bot_config(coordinators=[anna.user_id], schedule=schedule)
    # The room, its sessions and the reminder are there before the bots start: the active one
    # plans the reminder from the database, as after any restart.
    room = await anna.create_room(invite=[config.matrix.user_id, *(p.user_id for p in staff)])
    for person in staff:
        await person.join(room)
    due = datetime.now(UTC) + SETUP
    await add_sessions(config, room, SETUP)
    sections = f'[schedule]\nremind_before = ["60s"]\nannounce_before = []\n[rooms]\n"{room}" = "beide"\n'
    ports = free_port(), free_port()
    first, second = (
        BotProcess(toml_file(config, tmp_path / f"bot-{n}.toml", f'{sections}[metrics]\nlisten = "127.0.0.1:{port}"\n'))
        for n, port in enumerate(ports)
    )
    try:
        await first.start()
        await second.start(until=STANDBY)
        status, standby = await health(ports[1])
        assert status == 200 and standby["status"] == "standby" and standby["role"] == "standby"
        assert (await health(ports[0]))[1]["role"] == "active"
        await anna.wait_for(lambda e: e["room_id"] == room and "Guten Tag" in body(e), timeout=15)  # the greeting
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 1.0))

        commands: list[tuple[Person, str]] = []

        async def burst(texts: list[str]) -> None:
            for text in texts:
                for person in staff:
                    commands.append((person, await person.say(room, text)))

        sending = asyncio.create_task(burst(["!anmelden #2", "!meine", "!termin #2", "!termine"]))
        await asyncio.sleep(1.0)  # the reminder falls due about now, commands are arriving
        first.kill()
        killed_at = time.monotonic()
        before_kill = second.output
        await sending
        await second.logged(ACTIVE)
        assert time.monotonic() - killed_at < 30
        # The standby neither synced nor sent anything before it held the lock.
        assert "logged in" not in before_kill and "ready: answering commands" not in before_kill
        await second.logged("ready: answering commands")
        status, active = await health(ports[1])
        assert status == 200 and active["role"] == "active"

        for person, event_id in commands:
            await person.answer(room, event_id, timeout=30)
        await anna.wait_for(lambda e: e["room_id"] == room and "Erinnerung:" in body(e), timeout=30)
        await asyncio.sleep(2)  # time for any duplicate to show up
        history = await room_history(anna, room)
        bot_id = config.matrix.user_id
        for _, event_id in commands:
            answers = [e for e in history if e["sender"] == bot_id and replied_to(e) == event_id]
            assert len(answers) == 1, f"{len(answers)} answers to one command"
        reminders = [
            e for e in history if e["sender"] == bot_id and "Erinnerung:" in body(e) and "Starkregen" in body(e)
        ]
        assert len(reminders) == 1
        mine = [body(await p.ask(room, "!meine")) for p in staff]
        assert sum("· angemeldet" in m for m in mine) == 3 and sum("Warteliste, Platz" in m for m in mine) == 1

        # The killed one comes back as the standby; when the active one's lock connection is cut,
        # it stops (no split brain) and the other takes over.
        await first.start(until=STANDBY)
        assert await cut_lock_connection(database_url) == ["regiobot lock"]  # its own session settings
        assert second.process is not None and await asyncio.to_thread(second.process.wait, 30) == 1
        assert "lock lost" in second.output
        await first.logged("ready: answering commands")
        assert "Termine" in body(await anna.ask(room, "!termine"))
        await second.start(until=STANDBY)
        assert second.terminate() == 0  # SIGTERM ends a standby's waiting at once
        assert first.terminate() == 0
    finally:
        first.stop_quietly()
        second.stop_quietly()


async def test_a_second_instance_on_sqlite_refuses_to_start(people, bot_config, tmp_path):
    config = await bot_config()
    path = toml_file(config, tmp_path / "bot.toml")
    first = await BotProcess(path).start()
    try:
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "run", "--config", str(path)],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "läuft schon ein regiobot" in second.stderr and "already runs" in second.stderr
        assert Path(config.storage_url.split("///", 1)[1] + ".lock").exists()
        assert first.process is not None and first.process.poll() is None  # the first one goes on
    finally:
        first.stop_quietly()
