"""Stand-ins for the Matrix layer and the scheduler in unit tests (both are tested end to end)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.app import ROUTERS
from bot.config import Config, parse_config
from bot.dispatch import CommandSet, Dispatcher, Observer, Router
from bot.roles import role_of
from storage.db import Database


async def configured(tmp_path: Path, coordinator: str, storage_url: str | None = None) -> tuple[Config, Database]:
    """A config for a bot that never connects, and its migrated database (SQLite in `tmp_path`
    unless `storage_url` names another)."""
    storage = {"url": storage_url} if storage_url else {}
    config = parse_config({"matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:localhost",
                                      "password": "x"},
                           "storage": storage, "roles": {"coordinators": [coordinator]}}, {}, tmp_path)
    db = Database(config.storage_url)
    await db.migrate()
    return config, db


class FakeOutbox:
    """Records what would be sent. `fail_with` makes the next sends raise (after recording them,
    like a connection lost after the homeserver accepted the event)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str]] = []
        self.fail_with: Exception | None = None

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str) -> str:
        self.sent.append((room_id, content, tx_id))
        if self.fail_with is not None:
            raise self.fail_with
        return f"$event{len(self.sent)}"

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        return f"mxc://localhost/{filename}"

    def display_name(self, room_id: str, user_id: str) -> str | None:
        return None

    async def direct_room(self, user_id: str) -> str:
        return f"!dm-{user_id}"

    def bodies(self) -> list[str]:
        return [c["body"] for _, c, _ in self.sent]


class RecordingPlans:
    """Stands in for the scheduler: remembers which sessions changed."""

    def __init__(self) -> None:
        self.changed_sessions: list[int] = []

    def changed(self, session_id: int) -> None:
        self.changed_sessions.append(session_id)


def dispatcher_for(config: Config, db: Database, routers: Iterable[Router] = ROUTERS,
                   observe: Observer = lambda *_: None) -> Dispatcher:
    """A dispatcher with the bot's commands (or `routers`), sending into a FakeOutbox."""
    return Dispatcher(config, db, FakeOutbox(), RecordingPlans(), CommandSet(routers),
                      lambda user, level: role_of(user, config.roles, level), observe)
