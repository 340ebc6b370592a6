"""Operations: a killed bot loses nothing, SIGTERM stops cleanly, a homeserver outage is ridden out
with backoff, a database locked by another process delays answers but loses none, a bot that
cannot go on exits with an error status, Synapse's default rate limits delay answers but lose
none, a flooding user is slowed down, and a backup is taken while the bot runs."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.devserver import Synapse
from tests.e2e.people import Person, body, replied_to, shared_room
from tests.e2e.processes import PROJECT, BotProcess, toml_file

pytestmark = pytest.mark.e2e


async def test_killed_bot_answers_every_command_exactly_once_and_loses_no_registration(people, bot_config, tmp_path):
    anna = await people("anna")
    staff = [await people(f"staff{i}") for i in range(4)]
    config = await bot_config(coordinators=[anna.user_id])
    bot = await BotProcess(toml_file(config, tmp_path / "bot.toml")).start()
    try:
        room = await shared_room(anna, config.matrix.user_id, *staff)
        assert "angelegt" in body(await anna.ask(room, "!termin neu Vergaberecht | 10.12.2099 14 Uhr | Plätze: 3"))
        commands: list[tuple[Person, str]] = []

        async def burst(texts: list[str]) -> None:
            for person in staff:
                for text in texts:
                    commands.append((person, await person.say(room, text)))

        sending = asyncio.create_task(burst(["!anmelden #1", "!meine"]))
        await asyncio.sleep(0.3)
        bot.kill()  # while commands are arriving
        await sending
        await burst(["!termin #1"])  # and more while the bot is down
        await bot.start()
        for person, event_id in commands:
            await person.answer(room, event_id, timeout=30)
        await asyncio.sleep(2)  # time for any duplicate to show up
        for person, event_id in commands:
            answers = [e for e in person.events if replied_to(e) == event_id]
            assert len(answers) == 1, f"{len(answers)} answers to one command"
        mine = [body(await p.ask(room, "!meine")) for p in staff]
        assert sum("· angemeldet" in m for m in mine) == 3 and sum("Warteliste, Platz" in m for m in mine) == 1

        assert bot.terminate() == 0  # SIGTERM: the current batch is finished, the database closed
        assert "stopped" in bot.log_path.read_text()
    finally:
        bot.stop_quietly()


LOCKED_FOR = 25.0  # seconds another process holds the write lock: more than the busy timeout (10 s)


async def test_a_database_locked_by_another_process_delays_answers_but_loses_none(people, bot_config, tmp_path):
    anna, bernd = await people("anna"), await people("bernd")
    config = await bot_config(coordinators=[anna.user_id])
    bot = await BotProcess(toml_file(config, tmp_path / "bot.toml")).start()
    try:
        room = await shared_room(anna, config.matrix.user_id, bernd)
        assert "angelegt" in body(await anna.ask(room, "!termin neu Vergaberecht | 10.12.2099 14 Uhr | Plätze: 1"))
        # An administrator's sqlite3 shell (or a backup tool) holds the write lock meanwhile.
        holder = sqlite3.connect(config.storage_url.split("///", 1)[1], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            commands: list[tuple[Person, str]] = []
            for person, text in [
                (bernd, "!anmelden #1"),
                (anna, "!anmelden #1"),
                (bernd, "!meine"),
                (anna, "!termine"),
                (bernd, "!termin #1"),
                (anna, "!meine"),
            ]:
                commands.append((person, await person.say(room, text)))
            await bot.logged("database unavailable", timeout=30)
            await asyncio.sleep(LOCKED_FOR - 10)
            assert not any(person.answers_to(event_id) for person, event_id in commands)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for person, event_id in commands:
            await person.answer(room, event_id, timeout=60)
        await asyncio.sleep(2)  # time for any duplicate to show up
        for person, event_id in commands:
            assert len(person.answers_to(event_id)) == 1, "a command answered other than once"
        assert "Sie sind angemeldet" in body(bernd.answers_to(commands[0][1])[0])
        assert "Warteliste" in body(anna.answers_to(commands[1][1])[0])
        assert "Ref." not in " ".join(body(p.answers_to(e)[0]) for p, e in commands)
        assert "database available again" in bot.output
        assert bot.process is not None and bot.process.poll() is None  # still at work
        assert "Termine" in body(await anna.ask(room, "!termine"))
        assert bot.terminate() == 0
    finally:
        bot.stop_quietly()


async def test_a_bot_that_cannot_go_on_exits_with_an_error_status(people, bot_config, tmp_path):
    anna = await people("anna")
    config = await bot_config(coordinators=[anna.user_id])
    bot = await BotProcess(toml_file(config, tmp_path / "bot.toml")).start()
    try:
        room = await shared_room(anna, config.matrix.user_id)
        # The table of its sync token gone (a botched manual migration): every batch fails for good.
        with sqlite3.connect(config.storage_url.split("///", 1)[1]) as db:
            db.execute("ALTER TABLE bot_state RENAME TO bot_state_elsewhere")
        command = await anna.say(room, "!termine")
        assert bot.process is not None
        assert await asyncio.to_thread(bot.process.wait, 60) == 1  # a supervisor starts it again
        assert "cannot recover" in bot.output and "stopped" in bot.output
        assert len(anna.answers_to(command)) <= 1
    finally:
        bot.stop_quietly()


async def test_backup_while_the_bot_runs(people, bot_config, tmp_path):
    anna = await people("anna")
    config = await bot_config(coordinators=[anna.user_id])
    config_path = toml_file(config, tmp_path / "bot.toml")
    bot = await BotProcess(config_path).start()
    try:
        room = await shared_room(anna, config.matrix.user_id)
        await anna.ask(room, "!termin neu Fördermittel | 10.12.2099 14 Uhr")
        writing = asyncio.gather(*(anna.ask(room, f"!termin neu Sitzung {n} | 1{n}.12.2099 10 Uhr") for n in range(5)))
        target = tmp_path / "backup" / "regiobot-backup.db"
        target.parent.mkdir()
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "backup", str(target), "--config", str(config_path)],
            cwd=PROJECT,
            capture_output=True,
            text=True,
        )
        await writing
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(target) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert 1 <= copy.execute("SELECT count(*) FROM sessions").fetchone()[0] <= 6
            assert copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        again = subprocess.run(
            [sys.executable, "-m", "bot", "backup", str(target), "--config", str(config_path)],
            cwd=PROJECT,
            capture_output=True,
            text=True,
        )
        assert again.returncode == 2 and "gibt es schon" in again.stderr
    finally:
        bot.stop_quietly()


async def test_a_flooding_user_is_told_once(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    bot = await run_bot(await bot_config(coordinators=[anna.user_id], bot={"commands_per_minute": 3}))
    room = await shared_room(anna, bot.user_id, bernd)
    sent = [await bernd.say(room, "!termine") for _ in range(6)]
    await bernd.answer(room, sent[3])
    await asyncio.sleep(2)
    answered = [e for e in sent if bernd.answers_to(e)]
    assert answered == sent[:4]
    assert "Geduld" in body(bernd.answers_to(sent[3])[0])
    assert "Termine" in body(await anna.ask(room, "!termine"))  # others are not affected


@pytest.fixture(scope="module")
async def strict_synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Synapse]:
    """A homeserver of our own with Synapse's default message rate limit (and one we may stop).
    Its tests are one `xdist_group`, so that one worker starts it once for them."""
    server = Synapse(tmp_path_factory.mktemp("strict") / "hs", relaxed_limits=False)
    await server.start()
    yield server
    server.stop()


on_strict_synapse = pytest.mark.xdist_group("strict_synapse")


@on_strict_synapse
async def test_rate_limited_answers_all_arrive_each_naming_its_command(strict_synapse, people, bot_config, run_bot):
    anna = await people("anna", strict_synapse)
    staff = [await people(f"staff{i}", strict_synapse) for i in range(4)]
    bot = await run_bot(await bot_config(coordinators=[anna.user_id], server=strict_synapse))
    room = await shared_room(anna, bot.user_id, *staff)
    commands = []
    for round_ in range(3):
        for person in staff:
            commands.append((person, await person.say(room, "!termine" if round_ % 2 else "!meine")))
    answers = [await person.answer(room, event_id, timeout=60) for person, event_id in commands]
    assert len(answers) == 12 > 10  # more than the burst the homeserver allows
    # Answers to different commands go out side by side; each is a reply to its own command.
    assert len({a["event_id"] for a in answers}) == 12
    assert all(replied_to(a) == event_id for a, (_, event_id) in zip(answers, commands, strict=True))
    times = sorted(a["origin_server_ts"] for a in answers)
    assert times[-1] - times[0] >= 4000, "no rate limiting happened: the test proves nothing"


@on_strict_synapse
async def test_homeserver_outage_is_ridden_out_with_backoff(strict_synapse, people, bot_config, run_bot, caplog):
    anna = await people("anna", strict_synapse)
    bot = await run_bot(await bot_config(coordinators=[anna.user_id], server=strict_synapse))
    room = await shared_room(anna, bot.user_id)
    caplog.set_level(logging.WARNING, logger="bot.matrix")
    strict_synapse.stop()
    await asyncio.sleep(10)
    retries = [r for r in caplog.records if "not reachable" in r.getMessage()]
    assert 1 <= len(retries) <= 5, f"{len(retries)} attempts in 10 s: no backoff"
    await strict_synapse.start()
    answer = await anna.answer(room, await anna.say(room, "!termine"), timeout=60)
    assert "Termine" in body(answer) or "keine Termine" in body(answer)


async def test_killed_at_random_moments_every_effect_happens_exactly_once(people, bot_config, tmp_path):
    """30 commands with registrations, cancellations, moves up the waiting list and a Q&A round,
    the bot killed (SIGKILL) twice at random moments: every answer, notice and post exactly once."""
    anna = await people("anna")
    staff = [await people(f"staff{i}") for i in range(4)]
    config = await bot_config(coordinators=[anna.user_id])
    bot = await BotProcess(toml_file(config, tmp_path / "bot.toml")).start()
    rng = random.Random(14)
    try:
        room = await shared_room(anna, config.matrix.user_id, *staff)
        start = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(minutes=20)).strftime("%d.%m.%Y %H:%M")
        assert "angelegt" in body(await anna.ask(room, f"!termin neu Starkregen | {start} | Plätze: 2"))
        a, b, c, d = staff
        script: list[tuple[Person, str]] = [
            *((p, "!anmelden #1") for p in staff),  # two places, two waiting
            (a, "!frage #1 Wie teuer war die Karte?"),
            (b, "!frage #1 Wer hat sie erstellt?"),
            (anna, "!fragerunde start #1"),
            (a, "!abmelden #1"),  # c moves up
            (c, "!meine"),
            (d, "!frage #1 Gibt es Fördermittel?"),
            (b, "!abmelden #1"),  # d moves up
            (a, "!anmelden #1"),  # waiting again
            (anna, "!fragen"),
            (b, "!anmelden #1"),
            (c, "!frage #1 Wie lange hat es gedauert?"),
            (d, "!termine"),
            (c, "!abmelden #1"),  # a moves up
            (anna, "!teilnehmer #1"),
            *((p, "!meine") for p in staff),
            (anna, "!beantwortet 1"),
            (b, "!termin #1"),
            (d, "!abmelden #1"),  # b moves up
            (a, "!meine"),
            (anna, "!fragerunde ende"),
            (c, "!termine"),
            (anna, "!status"),
            (d, "!hilfe"),
        ]
        assert len(script) == 30
        sent: list[tuple[Person, str]] = []

        async def send_all() -> None:
            for person, text in script:
                sent.append((person, await person.say(room, text)))
                await asyncio.sleep(rng.uniform(0.05, 0.4))

        sending = asyncio.create_task(send_all())
        for _ in range(2):
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            bot.kill()
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            await bot.start()
        await sending
        for person, event_id in sent:
            await person.answer(room, event_id, timeout=60)
        await asyncio.sleep(3)  # time for any duplicate to show up
        for person, event_id in sent:
            assert len(person.answers_to(event_id)) == 1, "a command answered other than once"

        bot_id = config.matrix.user_id
        in_room = [e for e in anna.events if e["room_id"] == room and e["sender"] == bot_id]
        roots = [e for e in in_room if "Fragerunde zu" in body(e) and "m.relates_to" not in e["content"]]
        assert len(roots) == 1
        posted = [
            e
            for e in in_room
            if (e["content"].get("m.relates_to") or {}).get("event_id") == roots[0]["event_id"]
            and "Frage " in body(e)
            and e["content"].get("msgtype") == "m.text"
        ]
        numbers = sorted(int(body(e).split("Frage ")[1].split()[0].rstrip(":")) for e in posted if "Nr." not in body(e))
        assert numbers == [1, 2, 3, 4]  # each question posted once (the digest's parts come on top)
        for person, moved_up in ((c, 1), (d, 1), (a, 1), (b, 1)):
            told = [e for e in person.events if e["sender"] == bot_id and "Gute Nachricht" in body(e)]
            assert len(told) == moved_up, person.user_id
            assert all(e["room_id"] != room for e in told)
        with sqlite3.connect(config.storage_url.split("///", 1)[1]) as db:
            statuses = dict(db.execute("SELECT user_id, status FROM registrations").fetchall())
            assert sorted(statuses.values()) == ["cancelled", "cancelled", "registered", "registered"]
            assert db.execute("SELECT count(*), count(DISTINCT number) FROM questions").fetchone() == (4, 4)
            assert db.execute("SELECT count(*) FROM qa_rounds").fetchone() == (1,)
            assert db.execute("SELECT count(*) FROM outbox WHERE status != 'sent'").fetchone() == (0,)
    finally:
        bot.stop_quietly()
