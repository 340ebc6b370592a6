"""Many direct chats: the bot's start and the standby's takeover when the bot has a direct chat
with each of N people (one per person who got a reminder by direct message).

The chats are made as `Matrix.direct_room` makes them (invite-only, encrypted, an alias, the bot
their creator, recorded in the database) and joined by their person. Measured: the bot's first
start (nothing stored yet), its start with a stored sync token (process start → answering), its
resident memory then, and the standby's takeover on PostgreSQL (holding the lock → answering).
Alongside, for comparison, a full-state sync as the bot's first sync of a start was before: the
homeserver's time and matrix-nio's parsing of it (no regiobot code).

`python -m bench.direct_chats --chats 2000` runs it against its own Synapse (seeding 2,000 chats
takes minutes: `--work DIR` keeps the run in DIR, `--work DIR --reuse` measures it again without
seeding); `run()` returns the figures and `verdicts()` the rows for `python -m bench`'s table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from nio import AsyncClient, AsyncClientConfig, RoomCreateResponse, RoomPreset, SyncResponse

from bench import botproc, scenarios, standby
from bench.clients import client_for
from bench.homeserver import Account, register_many, register_one, start_synapse
from bot.config import parse_config
from bot.devserver import Synapse
from bot.matrix import ENCRYPTION_STATE, SYNC_FILTER
from storage import people, state
from storage.db import Database
from tests.postgres import unavailable as postgres_unavailable

CHATS = 2_000
PARALLEL = 12  # chats made side by side while seeding (Synapse has one core to itself at most)
START_TARGET_S = 2.0  # process start → answering; the standby from holding the lock
SETTLE_S = 2.0  # after the start, before the memory is read
LOGGED_IN = "logged in as"  # the bot's log line before its first sync


async def make_direct_chats(homeserver: str, bot: Account, persons: list[Account], parallel: int) -> dict[str, str]:
    """A direct chat of the bot with each person, made as the bot makes it and joined by the
    person, `parallel` at a time: person → room."""
    client = client_for(homeserver, bot)
    limit = asyncio.Semaphore(parallel)
    try:
        async with aiohttp.ClientSession() as http:

            async def one(index: int, person: Account) -> tuple[str, str]:
                async with limit:
                    made = await client.room_create(
                        alias=f"regiobot-bench-direct-{index}",
                        invite=[person.user_id],
                        is_direct=True,
                        preset=RoomPreset.private_chat,
                        initial_state=[ENCRYPTION_STATE],
                    )
                    assert isinstance(made, RoomCreateResponse), made
                    url = f"{homeserver}/_matrix/client/v3/join/{made.room_id}"
                    headers = {"Authorization": f"Bearer {person.access_token}"}
                    async with http.post(url, json={}, headers=headers) as resp:
                        assert resp.status == 200, await resp.text()
                    return person.user_id, str(made.room_id)

            return dict(await asyncio.gather(*(one(i, p) for i, p in enumerate(persons))))
    finally:
        await client.close()


async def record(db: Database, rooms: dict[str, str]) -> None:
    """Note the chats in the bot's database, as `Matrix.direct_room` does."""
    now = datetime.now(UTC)
    async with db.transaction() as s:
        for user_id, room_id in rooms.items():
            await people.record_direct_room(s, user_id, room_id, now)


async def bot_token(homeserver: str, user_id: str, password: str) -> str:
    """An access token of the bot's account, on a device of the bench's own."""
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id}, "password": password}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{homeserver}/_matrix/client/v3/login", json={**body, "device_id": "BENCHFLOOR"}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["access_token"])


async def full_state_sync(homeserver: str, user_id: str, token: str, since: str) -> dict[str, Any]:
    """For comparison, a first sync after a restart as the bot made it before it read the rooms'
    state itself (full state since the stored token, the bot's filter), without the bot: seconds
    until the homeserver's answer is read, seconds matrix-nio (no encryption) takes to parse it
    and take in its rooms, and what it held."""
    params = {"since": since, "full_state": "true", "timeout": "0", "filter": json.dumps(SYNC_FILTER)}
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        url = f"{homeserver}/_matrix/client/v3/sync"
        async with http.get(url, params=params, headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        served = time.perf_counter()
    client = AsyncClient(homeserver, user_id, config=AsyncClientConfig(encryption_enabled=False))
    client.restore_login(user_id, "BENCHFLOOR", token)
    try:
        parsing = time.perf_counter()
        response = SyncResponse.from_dict(body)
        assert isinstance(response, SyncResponse), response
        await client.receive_response(response)
        parsed = time.perf_counter()
    finally:
        await client.close()
    joined = body.get("rooms", {}).get("join", {})
    return {
        "server_s": round(served - started, 2),
        "nio_s": round(parsed - parsing, 2),
        "rooms": len(joined),
        "state_events": sum(len(room.get("state", {}).get("events", [])) for room in joined.values()),
    }


async def seed(server: Synapse, work: Path, chats: int, parallel: int) -> dict[str, Any]:
    """The bot's account, `chats` people with a direct chat each, and the bot's configuration
    (written to bot.toml) and database; returns the settings."""
    admin = await register_one(server, "benchadmin", admin=True)
    bot_account = await register_one(server, "regiobot")
    await scenarios.exempt(server.url, admin.access_token, bot_account.user_id)
    print(f"registering {chats} people …", flush=True)
    persons = await register_many(server, "dm", chats, parallel)
    print(f"making {chats} direct chats …", flush=True)
    rooms = await make_direct_chats(server.url, bot_account, persons, parallel)
    settings = botproc.bot_settings(server.url, bot_account.user_id, bot_account.password, work / "bot")
    botproc.write_toml(settings, work / "bot.toml")
    db = Database(parse_config(settings, {}, base_dir=work / "bot").storage_url)
    try:
        await db.migrate()
        await record(db, rooms)
    finally:
        await db.close()
    return settings


async def restart_synapse(directory: Path) -> Synapse:
    """The Synapse of an earlier run, started again on its data (same port and secret)."""
    config = (directory / "homeserver.yaml").read_text()
    port = re.search(r"^\s*(?:- )?port: (\d+)", config, re.MULTILINE)
    secret = re.search(r'^registration_shared_secret: "(.*)"', config, re.MULTILINE)
    assert port and secret, "not a homeserver directory of this benchmark"
    server = Synapse(directory, port=int(port.group(1)), relaxed_limits=False, shared_secret=secret.group(1))
    await server.start()
    return server


def import_floor_s(samples: int = 3) -> float:
    """Seconds a Python process takes to import the bot and end, the least of `samples`: what
    every start pays, with direct chats or without (measured alongside: the machine's load shows
    in it too)."""
    times = []
    for _ in range(samples):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import bot.app, bot.cli"], check=True)
        times.append(time.monotonic() - started)
    return min(times)


async def measure(
    server: Synapse, work: Path, settings: dict[str, Any], first: bool, standby_too: bool = True
) -> dict[str, Any]:
    """The bot's start (and its first start ever when `first`), its memory, the first sync
    alone, and (when `standby_too`) the standby's takeover."""
    config = parse_config(settings, {}, base_dir=work / "bot")
    bot = botproc.regiobot(work / "bot.toml", work / "bot.log")
    figures: dict[str, Any] = {}
    try:
        print("starting the bot …", flush=True)
        if first:
            figures["first_start_s"] = round(await bot.start(), 2)
            bot.stop()
        figures["import_floor_s"] = round(import_floor_s(), 2)
        figures["start_s"] = round(await bot.start(), 2)
        output = bot.output()
        ready, logged_in = standby.logged_at(output, botproc.READY_LINE), standby.logged_at(output, LOGGED_IN)
        figures["login_to_ready_s"] = round((ready - logged_in).total_seconds(), 2)
        await asyncio.sleep(SETTLE_S)
        figures["rss_after_start_mb"] = round(botproc.rss_mb(bot.pid), 1)
    finally:
        bot.stop()
    db = Database(config.storage_url)
    try:
        async with db.transaction() as s:
            since = await state.get_state(s, "next_batch")
    finally:
        await db.close()
    assert since is not None
    print("a full-state sync, for comparison …", flush=True)
    matrix = settings["matrix"]
    token = await bot_token(server.url, matrix["user_id"], matrix["password"])
    figures["full_state_sync"] = await full_state_sync(server.url, matrix["user_id"], token, since)
    if not standby_too:
        figures["takeover"] = {"not_measured": "skipped (--quick)"}
    elif reason := postgres_unavailable():
        figures["takeover"] = {"not_measured": reason}
    else:
        print("standby on PostgreSQL: kill the active one …", flush=True)
        figures["takeover"] = await standby.takeover(work, settings, config.storage_url)
    return figures


async def run(
    chats: int = CHATS,
    work: Path | None = None,
    parallel: int = PARALLEL,
    reuse: bool = False,
    standby_too: bool = True,
) -> dict[str, Any]:
    """Seed `chats` direct chats against a Synapse of its own in `work` (a new temp folder if
    None) and measure (the takeover only when `standby_too`); the figures. With `reuse`, `work`
    holds a run seeded before: measured again."""
    work = work or Path(tempfile.mkdtemp(prefix="regiobench-direct-"))
    print(f"direct chats: working in {work}", flush=True)
    if reuse:
        server = await restart_synapse(work / "hs")
        settings = tomllib.loads((work / "bot.toml").read_text())
        figures: dict[str, Any] = {"chats": chats, "seed_s": None}
    else:
        server = await start_synapse(work / "hs")
        seeding = time.monotonic()
        settings = await seed(server, work, chats, parallel)
        figures = {"chats": chats, "seed_s": round(time.monotonic() - seeding, 1)}
    try:
        return figures | await measure(server, work, settings, first=not reuse, standby_too=standby_too)
    finally:
        server.stop()


def verdicts(figures: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(what, target, measured, met) rows for a report, from `run()`'s figures."""
    chats, floor, takeover = figures["chats"], figures["full_state_sync"], figures["takeover"]
    sync = f"a full-state sync would take: server {floor['server_s']:.2f} s + nio {floor['nio_s']:.2f} s"
    rows: list[tuple[str, str, str, bool | None]] = [
        (
            f"start with {chats} direct chats: process start → answering",
            f"≤ {START_TARGET_S} s",
            f"{figures['start_s']:.2f} s (importing alone {figures['import_floor_s']:.2f} s; login → answering"
            f" {figures['login_to_ready_s']:.2f} s; {sync})",
            figures["start_s"] <= START_TARGET_S,
        ),
        (
            f"memory after the start with {chats} direct chats (RSS)",
            "reported",
            f"{figures['rss_after_start_mb']} MB",
            None,
        ),
    ]
    if "lock_to_ready_s" in takeover:
        rows.append(
            (
                f"standby takeover with {chats} direct chats: lock held → answering",
                f"≤ {START_TARGET_S} s",
                f"{takeover['lock_to_ready_s']:.2f} s (kill → answering {takeover['kill_to_ready_s']:.1f} s)",
                takeover["lock_to_ready_s"] <= START_TARGET_S,
            )
        )
    else:
        rows.append(("standby takeover with direct chats", f"≤ {START_TARGET_S} s", takeover["not_measured"], None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.direct_chats", description=__doc__)
    parser.add_argument("--chats", type=int, default=CHATS, help="direct chats (and people) to seed")
    parser.add_argument("--parallel", type=int, default=PARALLEL, help="chats made side by side while seeding")
    parser.add_argument("--work", type=Path, help="folder to work in (default: a new temp folder)")
    parser.add_argument("--reuse", action="store_true", help="measure again in --work, seeded by an earlier run")
    args = parser.parse_args()
    if args.reuse and args.work is None:
        parser.error("--reuse needs --work")
    figures = asyncio.run(run(args.chats, args.work, args.parallel, args.reuse))
    print(json.dumps(figures, indent=2))
    for what, target, measured, met in verdicts(figures):
        print(f"{what}: {measured} (target {target}{'' if met is None else ', met' if met else ', MISSED'})")


if __name__ == "__main__":
    main()
