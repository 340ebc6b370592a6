"""End-to-end fixtures: one throwaway Synapse per test session (per worker under pytest-xdist), a
fresh bot account and database per test, real nio clients for the people."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Bot
from bot.config import Config, parse_config
from bot.devserver import Synapse
from tests.e2e.people import Person, new_person

pytestmark = pytest.mark.e2e
_names = itertools.count(1)


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Synapse]:
    server = Synapse(tmp_path_factory.mktemp("synapse") / "hs")
    await server.start()
    yield server
    server.stop()


class RunningBot:
    """The bot running in this event loop; can be stopped and started again on the same data."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.bot: Bot | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.config.matrix.user_id

    async def start(self) -> RunningBot:
        self.bot = Bot(self.config)
        await self.bot.start()
        self.task = asyncio.create_task(self.bot.run())
        ready = asyncio.create_task(self.bot.ready.wait())
        await asyncio.wait({self.task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self.task.done():
            self.task.result()
        assert self.bot.ready.is_set(), "bot did not finish its first sync"
        return self

    async def stop(self) -> None:
        if self.bot and self.task:
            self.bot.stop()
            await asyncio.wait_for(self.task, 30)
            await self.bot.close()
        self.bot, self.task = None, None


@pytest.fixture
async def people(synapse: Synapse) -> AsyncIterator[Callable[..., Awaitable[Person]]]:
    """people("anna") registers a fresh user (on the shared homeserver, or `server`) and returns
    them logged in and syncing."""
    started: list[Person] = []

    async def make(name: str, server: Synapse | None = None) -> Person:
        person = await new_person(server or synapse, name)
        started.append(person)
        return person

    yield make
    for person in started:
        await person.close()


@pytest.fixture
async def bot_config(synapse: Synapse, tmp_path: Path, database_url: str) -> Callable[..., Awaitable[Config]]:
    """bot_config(coordinators=[…]) registers a fresh bot account and returns its config
    (on SQLite, or on PostgreSQL where the test is parametrised with `on_both_databases`)."""

    async def make(coordinators: list[str] = (), server: Synapse | None = None, **sections: dict[str, Any]) -> Config:
        server = server or synapse
        localpart = f"regiobot{next(_names)}"
        await server.register(localpart, "bot-password")
        data: dict[str, Any] = {
            "matrix": {
                "homeserver": server.url,
                "user_id": server.user_id(localpart),
                "password": "bot-password",
                "device_id": "REGIOBOTTEST",
                "store_key": secrets.token_hex(16),
            },
            "storage": {"url": database_url},
            "bot": {"timezone": "Europe/Berlin"},
            "roles": {"coordinators": list(coordinators)},
        }
        for name, values in sections.items():
            data.setdefault(name, {}).update(values)
        return parse_config(data, {}, base_dir=tmp_path)

    return make


@pytest.fixture
async def run_bot() -> AsyncIterator[Callable[[Config], Awaitable[RunningBot]]]:
    running: list[RunningBot] = []

    async def start(config: Config) -> RunningBot:
        bot = await RunningBot(config).start()
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.stop()
