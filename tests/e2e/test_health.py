"""/healthz and /metrics of a running bot, fetched over HTTP while people use it."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.devserver import free_port
from storage import planned
from tests.e2e.people import shared_room

pytestmark = pytest.mark.e2e


async def test_healthz_and_metrics_of_a_running_bot(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    port = free_port()
    bot = await run_bot(await bot_config(coordinators=[anna.user_id], metrics={"listen": f"127.0.0.1:{port}"}))
    room = await shared_room(anna, bot.user_id, bernd)
    await anna.ask(room, "!termin neu Starkregen | Do 10.12.2099 14 Uhr | Plätze: 1")
    await bernd.ask(room, "!anmelden #1")
    await bernd.ask(room, "!anmelden #1")
    await bernd.ask(room, "!termin neu Nicht erlaubt | Do 10.12.2099 14 Uhr")
    await bernd.ask(room, "!gibtsnicht")

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            health = await response.json()
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200 and response.content_type == "text/plain"
            exposition = await response.text()

    assert health["status"] == "ok" and health["database"] == {"status": "ok"}
    assert health["sync"]["status"] == "ok" and health["sync"]["last"]
    seen = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }
    commands = {labels: value for (name, labels), value in seen.items() if name == "regiobot_commands_total"}
    assert commands == {
        (("command", "raum freischalten"), ("outcome", "ok")): 1,
        (("command", "termin neu"), ("outcome", "ok")): 1,
        (("command", "anmelden"), ("outcome", "ok")): 1,
        (("command", "anmelden"), ("outcome", "refused")): 1,
        (("command", "termin neu"), ("outcome", "refused")): 1,
        (("command", "(unknown)"), ("outcome", "refused")): 1,
    }
    assert seen[("regiobot_answer_seconds_count", ())] == 6
    assert seen[("regiobot_outbox_write_commands_total", ())] == 6  # each answer written to the outbox
    assert 0 < seen[("regiobot_outbox_write_seconds_total", ())] < 6
    assert seen[("regiobot_sync_errors_total", ())] == 0
    assert seen[("regiobot_last_sync_timestamp_seconds", ())] > 0
    async with bot.bot.db.transaction() as s:
        counts = await planned.planned_counts(s)
    assert counts == {"pending": 5}  # two announcements, two reminders and the feedback question, all ahead
    assert {
        status: seen[("regiobot_planned_messages", (("status", status),))]
        for status in ("pending", "sent", "skipped", "failed")
    } == {"pending": 5, "sent": 0, "skipped": 0, "failed": 0}

    # Typing and reading do not wake the bot's long-poll (its sync leaves them out); a message does.
    last = await bernd.say(room, "Danke!")
    await asyncio.sleep(1.5)  # the bot's sync that brought the message has been handled
    quiet_since = bot.bot.metrics.synced_at
    await bernd.client.room_typing(room, typing_state=True)
    await bernd.client.room_read_markers(room, fully_read_event=last, read_event=last)
    await asyncio.sleep(1.5)
    assert bot.bot.metrics.synced_at == quiet_since
    await bernd.say(room, "Bis bald")
    await asyncio.sleep(1.5)
    assert bot.bot.metrics.synced_at != quiet_since
