"""Stand-ins for the Matrix layer and the scheduler in unit tests (both are tested end to end)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.acting import Acting
from bot.app import FEATURES, ROUTERS
from bot.config import Config, parse_config
from bot.deliverer import Deliverer
from bot.dispatch import Dispatcher, Observer
from bot.matrix import Invitation
from bot.roles import Roles
from bot.rooms import OfficialRooms
from bot.routing import CommandSet, Router
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
_requests = itertools.count(1)  # ids of the actions `acting_for` makes
COORDINATOR = "@anna:localhost"
INVITER = "@ines:localhost"  # who invited the bot into every room


async def configured(
    tmp_path: Path, coordinator: str, storage_url: str | None = None, rooms: dict[str, str] | None = None
) -> tuple[Config, Database]:
    """A config for a bot that never connects, and its migrated database (SQLite in `tmp_path`
    unless `storage_url` names another; the `migrated_url` fixture's is migrated already)."""
    storage = {"url": storage_url} if storage_url else {}
    config = parse_config(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:1",
                "user_id": "@bot:localhost",
                "password": "x",
                "store_key": "unit-test-store-key",
            },
            "storage": storage,
            "roles": {"coordinators": [coordinator]},
            "rooms": {"!room:localhost": "beide"} if rooms is None else rooms,
        },
        {},
        tmp_path,
    )
    db = Database(config.storage_url)
    await db.migrate()
    return config, db


def no_open_transaction() -> None:
    """Nothing may call the homeserver while the calling task holds a database transaction open."""
    assert not Database.in_transaction(), "homeserver called inside a database transaction"


class FakeOutbox:
    """Records what would be sent. `fail_with` makes the next sends raise (after recording them,
    like a connection lost after the homeserver accepted the event). Every call fails when made
    inside a database transaction."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str]] = []
        self.uploads: list[bytes] = []
        self.reactions: list[tuple[str, str, str]] = []
        self.redactions: list[tuple[str, str, str | None]] = []  # (room, event taken down, reason)
        self.fail_with: Exception | None = None
        self.failing_rooms: set[str] | None = None  # fail only sends to these rooms (None: all)
        self.related: list[dict[str, Any]] = []  # events that refer to others (poll responses)
        self.groups: list[tuple[list[str], str]] = []  # rooms made for several people: (invitees, name)
        self.group_keys: dict[str, str] = {}
        self.states: list[tuple[str, str, str, dict[str, Any]]] = []  # (room, type, state key, content)
        self.muted: set[str] = set()  # rooms where the bot's power level is too low to post
        self.left: list[str] = []

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str, event_type: str = "m.room.message") -> str:
        no_open_transaction()
        if event_type == "m.reaction":
            relates = content["m.relates_to"]
            self.reactions.append((room_id, relates["event_id"], relates["key"]))
            return f"$reaction{len(self.reactions)}"
        if event_type == outbox.REDACTION:
            self.redactions.append((room_id, content["redacts"], content.get("reason")))
            return f"$redaction{len(self.redactions)}"
        self.sent.append((room_id, content, tx_id))
        if self.fail_with is not None and (self.failing_rooms is None or room_id in self.failing_rooms):
            raise self.fail_with
        return f"$event{len(self.sent)}"

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any], state_key: str) -> str:
        no_open_transaction()
        self.states.append((room_id, event_type, state_key, content))
        return f"$state{len(self.states)}"

    async def upload(self, room_id: str, data: bytes, content_type: str, filename: str) -> dict[str, Any]:
        no_open_transaction()
        self.uploads.append(data)
        return {"url": f"mxc://localhost/{filename}"}

    def display_name(self, room_id: str, user_id: str) -> str | None:
        return None

    def may_set_state(self, room_id: str, event_type: str) -> bool:
        return room_id not in self.muted

    def member_count(self, room_id: str) -> int:
        return 2 if room_id.startswith("!dm") else 10

    async def relations(self, room_id: str, event_id: str) -> list[dict[str, Any]]:
        no_open_transaction()
        return [e for e in self.related if e["content"]["m.relates_to"]["event_id"] == event_id]

    async def direct_room(self, user_id: str) -> str:
        no_open_transaction()
        return f"!dm-{user_id}"

    async def group_room(self, user_ids: list[str], name: str, key: str) -> str:
        no_open_transaction()
        if key not in self.group_keys:  # made once per key, as the homeserver's alias makes it
            self.groups.append((user_ids, name))
            self.group_keys[key] = f"!group-{len(self.groups)}"
        return self.group_keys[key]

    def may_post(self, room_id: str) -> bool:
        return room_id not in self.muted

    def room_name(self, room_id: str) -> str:
        return f"Raum {room_id}"

    async def invitation(self, room_id: str) -> Invitation | None:
        no_open_transaction()
        return Invitation(f"$invite-{room_id}", INVITER)

    async def leave(self, room_id: str) -> None:
        no_open_transaction()
        self.left.append(room_id)
        self.muted.discard(room_id)  # the room is forgotten

    def bodies(self) -> list[str]:
        return [c["body"] for _, c, _ in self.sent]


class RecordingPlans:
    """Stands in for the scheduler: remembers which sessions changed."""

    def __init__(self) -> None:
        self.changed_sessions: list[int] = []
        self.changed_places: list[int] = []

    def changed(self, session_id: int) -> None:
        self.changed_sessions.append(session_id)

    def places_changed(self, session_id: int) -> None:
        self.changed_places.append(session_id)


class FakeRooms:
    """Power levels as a test sets them up."""

    def __init__(self) -> None:
        self.levels: dict[tuple[str, str], int] = {}

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.levels.get((room_id, user_id), 0)


async def due_messages(db: Database) -> bool:
    """Whether a message that is due now waits in the outbox."""
    async with db.transaction() as s:
        return any(h.next_attempt_at is None for h in await outbox.lane_heads(s, exclude=set()))


class TestDispatcher(Dispatcher):
    """The bot's dispatcher whose outbox is delivered into `outbox` (a FakeOutbox) right after each
    event, so a test sees the answers at once; `plans` records what the scheduler would hear."""

    outbox: FakeOutbox
    plans: RecordingPlans


def dispatcher_for(
    config: Config,
    db: Database,
    routers: Iterable[Router] = ROUTERS,
    observe: Observer = lambda *_: None,
    outbox: FakeOutbox | None = None,
    rooms: FakeRooms | None = None,
) -> TestDispatcher:
    """A dispatcher with the bot's commands (or `routers`), delivering into a FakeOutbox."""
    sender = outbox or FakeOutbox()
    deliverer = Deliverer(config, db, sender, features=FEATURES)

    async def delivered(_: list[OutboxMessage]) -> None:
        # Until nothing due waits (commands handled side by side may each drain before the other's
        # message is committed).
        while await deliverer.drain() == 0.0 or await due_messages(db):
            pass

    dispatcher = TestDispatcher(
        config,
        db,
        sender,
        RecordingPlans(),
        CommandSet(routers),
        Roles(config.roles, rooms or FakeRooms(), OfficialRooms(config.official_rooms)),
        observe,
        delivered,
    )
    dispatcher.outbox = sender
    return dispatcher


def acting_for(
    config: Config, sender: str, room_id: str = "", rooms: FakeRooms | None = None, now: datetime = NOW
) -> Acting:
    """The acting person a use case gets: `sender` in `room_id` ("" as on the web), with power
    levels as `rooms` has them."""
    roles = Roles(config.roles, rooms or FakeRooms(), OfficialRooms(config.official_rooms))
    return Acting.begin(
        config, roles, FakeOutbox(), sender=sender, room_id=room_id, request_id=f"$request{next(_requests)}", now=now
    )
