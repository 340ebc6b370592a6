"""The benchmark's homeserver: a throwaway Synapse on loopback, and accounts with access tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.devserver import Synapse

# Password hashing is not what is measured; cheap hashing makes 200 accounts quick to create.
# Joins per room and room creation (direct chats) are limited on their own; lifted like the rest.
# Synapse cuts a sync's timeline at 100 events whatever the filter asks; a burst of 200 commands
# and 200 answers must reach the echo bot and the observer whole.
BENCH_SETTINGS = """
bcrypt_rounds: 4
filter_timeline_limit: 1000
rc_joins_per_room: {per_second: 1000, burst_count: 1000}
rc_room_creation: {per_second: 1000, burst_count: 1000}
"""


@dataclass(frozen=True)
class Account:
    """A registered user with a ready access token (no login needed)."""

    user_id: str
    password: str
    access_token: str
    device_id: str


async def start_synapse(directory: Path) -> Synapse:
    """Synapse with relaxed rate limits but Synapse's default message rate limit (those who send
    many are exempted one by one, see `exempt`), cheap password hashing, answering on 127.0.0.1."""
    server = Synapse(directory, relaxed_limits=False)
    server.configure()
    with open(directory / "homeserver.yaml", "a") as config:
        config.write(BENCH_SETTINGS)
    await server.start()
    return server


async def register(server: Synapse, http: aiohttp.ClientSession, localpart: str, admin: bool = False) -> Account:
    """Create a user through the shared-secret admin API (as `Synapse.register`), keeping its token."""
    endpoint = f"{server.url}/_synapse/admin/v1/register"
    password = f"pw-{localpart}"
    async with http.get(endpoint) as resp:
        nonce = (await resp.json())["nonce"]
    kind = "admin" if admin else "notadmin"
    mac = hmac.new(server.shared_secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join(p.encode() for p in (nonce, localpart, password, kind)))
    body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()}
    async with http.post(endpoint, json=body) as resp:
        data = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"registering {localpart} failed: {resp.status} {data}")
    return Account(data["user_id"], password, data["access_token"], data["device_id"])


async def register_one(server: Synapse, localpart: str, admin: bool = False) -> Account:
    async with aiohttp.ClientSession() as http:
        return await register(server, http, localpart, admin)


async def register_many(server: Synapse, prefix: str, count: int, parallel: int = 8) -> list[Account]:
    """`count` users named prefix0, prefix1 …, created a few at a time."""
    limit = asyncio.Semaphore(parallel)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> Account:
            async with limit:
                return await register(server, http, f"{prefix}{i}")

        return list(await asyncio.gather(*(one(i) for i in range(count))))
