"""The measurements: round trips, a burst of registrations, and a reminder fan-out."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from nio import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from bench.clients import Observer, round_trip, send_text


async def round_trips(
    observer: Observer, rooms: dict[str, str], commands: list[str], samples: int
) -> dict[str, dict[str, list[float]]]:
    """For each command, `samples` round trips per bot; the bots take turns command by command,
    so both see the same load on the machine. `rooms` maps a bot's name to its room."""
    times: dict[str, dict[str, list[float]]] = {c: {name: [] for name in rooms} for c in commands}
    for _ in range(samples):
        for command in commands:
            for name, room_id in rooms.items():
                times[command][name].append(await round_trip(observer, room_id, command))
                await asyncio.sleep(0.02)
    return times


async def outbox_share(
    observer: Observer, room_id: str, commands: list[str], samples: int, metrics_url: str
) -> tuple[float, float]:
    """What writing to the outbox costs a command (ms, from the bot's /metrics: the time spent
    writing the commands' messages and records as handled, per command), and the bot's median
    round trip (ms) over the same `samples` rounds of `commands`."""
    before = await _outbox_counters(metrics_url)
    times = []
    for _ in range(samples):
        for command in commands:
            times.append(await round_trip(observer, room_id, command))
            await asyncio.sleep(0.02)
    after = await _outbox_counters(metrics_url)
    per_command_ms = 1000 * (after[0] - before[0]) / max(1.0, after[1] - before[1])
    return per_command_ms, 1000 * statistics.median(times)


async def _outbox_counters(metrics_url: str) -> tuple[float, float]:
    """(seconds spent writing to the outbox, commands written) so far."""
    async with aiohttp.ClientSession() as http, http.get(metrics_url) as response:
        exposition = await response.text()
    values = {s.name: s.value for family in text_string_to_metric_families(exposition) for s in family.samples}
    return values["regiobot_outbox_write_seconds_total"], values["regiobot_outbox_write_commands_total"]


@dataclass
class Burst:
    """What a burst of commands brought: event ids in sending order, and the time to the last answer."""

    event_ids: list[str]
    last_answer_s: float
    unanswered: int


async def burst(
    observer: Observer,
    clients: list[AsyncClient],
    room_id: str,
    body: str,
    spread_s: float = 1.0,
    timeout: float = 180.0,
) -> Burst:
    """Every client sends `body` once, spread evenly over `spread_s`; waits for every reply."""
    started = time.perf_counter()

    async def one(i: int, client: AsyncClient) -> str:
        await asyncio.sleep(i * spread_s / len(clients))
        return await send_text(client, room_id, body)

    event_ids = list(await asyncio.gather(*(one(i, c) for i, c in enumerate(clients))))
    answers = [observer.answered(e) for e in event_ids]
    done, pending = await asyncio.wait(answers, timeout=timeout)
    last = max((f.result() for f in done), default=started)
    return Burst(event_ids, last - started, len(pending))


def registrations(db_file: Path, session_id: int) -> list[tuple[str, str]]:
    """(user id, status) of a session's registrations in the bot's order (queued_at, id)."""
    with sqlite3.connect(db_file) as conn:
        return list(
            conn.execute(
                "SELECT user_id, status FROM registrations WHERE session_id = ? ORDER BY queued_at, id", (session_id,)
            )
        )


def forget_privacy_notices(db_file: Path, user_ids: set[str]) -> None:
    """The people's settings removed from the bot's database, so that their next registration is
    their first again (with the privacy notice): a repeated burst is the same work as the first."""
    with sqlite3.connect(db_file) as conn:
        conn.executemany("DELETE FROM person_settings WHERE user_id = ?", [(u,) for u in user_ids])


def sent_reminders(db_file: Path, session_id: int) -> list[tuple[str, str, str]]:
    """(status, sent_at, sent_event_id) of a session's reminder DMs."""
    with sqlite3.connect(db_file) as conn:
        return list(
            conn.execute(
                "SELECT status, sent_at, sent_event_id FROM planned_messages "
                "WHERE session_id = ? AND kind = 'reminder_dm'",
                (session_id,),
            )
        )


async def wait_for_reminders(db_file: Path, session_id: int, count: int, timeout: float) -> list[str]:
    """Event ids of the reminder DMs, once `count` are sent (or whatever is sent by `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = sent_reminders(db_file, session_id)
        sent = [event_id for status, _, event_id in rows if status == "sent" and event_id]  # delivered
        if len(sent) >= count or time.monotonic() > deadline:
            return sent
        await asyncio.sleep(0.5)


def direct_rooms(db_file: Path) -> list[str]:
    """The direct rooms the bot made and recorded."""
    with sqlite3.connect(db_file) as conn:
        return [room_id for (room_id,) in conn.execute("SELECT room_id FROM direct_rooms")]


async def send_to_each(homeserver: str, token: str, room_ids: list[str], body: str, tag: str) -> float:
    """The homeserver's floor for a fan-out: one notice into each room, all at once (as many
    connections as aiohttp allows) with plain HTTP; seconds from the first request to the last
    answer."""
    headers = {"Authorization": f"Bearer {token}"}
    content = {"msgtype": "m.notice", "body": body, "m.mentions": {}}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def one(n: int, room_id: str) -> None:
            url = f"{homeserver}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{tag}-{n}"
            async with http.put(url, json=content) as resp:
                assert resp.status == 200, await resp.text()

        started = time.perf_counter()
        await asyncio.gather(*(one(n, room_id) for n, room_id in enumerate(room_ids)))
        return time.perf_counter() - started


async def delivery_times(homeserver: str, admin_token: str, bot_id: str, event_ids: set[str]) -> list[datetime]:
    """When the homeserver received each of `event_ids` (searched in the bot's rooms, admin API)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    found: list[datetime] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for room_id in await _joined_rooms(http, homeserver, bot_id):
            async with http.get(
                f"{homeserver}/_synapse/admin/v1/rooms/{room_id}/messages", params={"dir": "b", "limit": "20"}
            ) as resp:
                chunk = (await resp.json()).get("chunk", [])
            found += [
                datetime.fromtimestamp(e["origin_server_ts"] / 1000, UTC)
                for e in chunk
                if e.get("event_id") in event_ids
            ]
    return found


async def settle(homeserver: str, admin_token: str, room_id: str) -> int:
    """The room's forward extremities cleared but the latest (admin API); how many it had.

    Commands and answers sent at once fork a room's history: each event made while others are in
    flight names the same latest events as its predecessors, and each becomes an end of the
    history (a forward extremity) that Synapse works through for every later event until enough
    of them are merged (each new event names up to ten). After a burst, a room carries hundreds of
    them into the next phase; settled, every bot's room starts the same."""
    url = f"{homeserver}/_synapse/admin/v1/rooms/{room_id}/forward_extremities"
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with aiohttp.ClientSession(headers=headers) as http, http.delete(url) as resp:
        assert resp.status == 200, await resp.text()
        return int((await resp.json())["deleted"]) + 1


async def _joined_rooms(http: aiohttp.ClientSession, homeserver: str, user_id: str) -> list[str]:
    async with http.get(f"{homeserver}/_synapse/admin/v1/users/{user_id}/joined_rooms") as resp:
        return list((await resp.json())["joined_rooms"])


async def rooms_joined(homeserver: str, admin_token: str, user_id: str, count: int) -> datetime:
    """When `user_id` is in `count` rooms (polled through the admin API once a second)."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin_token}"}) as http:
        while len(await _joined_rooms(http, homeserver, user_id)) < count:
            await asyncio.sleep(1.0)
    return datetime.now(UTC)


async def exempt(homeserver: str, admin_token: str, user_id: str, exempt: bool = True) -> None:
    """Exempt `user_id` from the message rate limit (admin API override_ratelimit), or put it back
    under the homeserver's default limit."""
    url = f"{homeserver}/_synapse/admin/v1/users/{user_id}/override_ratelimit"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin_token}"}) as http:
        unlimited = {"messages_per_second": 0, "burst_count": 0}
        request = http.post(url, json=unlimited) if exempt else http.delete(url)
        async with request as resp:
            assert resp.status == 200, await resp.text()
