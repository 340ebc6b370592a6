"""Throughput without losing exactly-once: a sync response's commands decided in order in one
transaction (savepoints per command, on SQLite and on PostgreSQL), their answers delivered side by
side, and sends paced while the homeserver rate-limits the bot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import ErrorResponse, RoomSendError, RoomSendResponse
from sqlmodel import col, func, select

from bot.app import ROUTERS
from bot.check_config import check_database
from bot.deliverer import Deliverer
from bot.dispatch import Dispatcher, Incoming
from bot.matrix import Matrix
from bot.routing import Router
from storage import outbox, registrations, state
from storage.models import HandledEvent, OutboxMessage, RegistrationStatus
from storage.outbox import Outgoing
from tests.postgres import on_both_databases
from tests.unit.fakes import COORDINATOR, NOW, FakeOutbox, configured, dispatcher_for

ROOM = "!room:localhost"


class Crash(BaseException):
    """The process dies: nothing after it runs, the open transaction is never committed."""


batch_router = Router("batch")
crashing = {"on": ""}  # the event id whose handler kills the process (none when empty)


@batch_router.command("schreiben-und-scheitern", help="help.help")
async def write_then_fail(ctx):
    async with ctx.db.transaction() as s:
        await state.set_state(s, "written-by", ctx.event_id)
    ctx.tell("@bernd:localhost", ctx.t("help.help"))
    raise RuntimeError("after writing")


@batch_router.command("absturz", help="help.help")
async def crash(ctx):
    if ctx.event_id == crashing["on"]:
        raise Crash
    await ctx.reply("help.help")


@pytest.fixture
async def bot(tmp_path: Path, migrated_url: str):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    yield config, db
    await db.close()


def burst(*bodies: tuple[str, str]) -> list[Incoming]:
    """Events in the order the homeserver received them: (sender, body), event ids $0, $1 …"""
    return [Incoming(ROOM, sender, f"${n}", body) for n, (sender, body) in enumerate(bodies)]


async def new_session(dispatcher: Dispatcher, capacity: int) -> None:
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(
        Incoming(ROOM, COORDINATOR, "$new", f"!termin neu Ansturm | {start} | Plätze: {capacity}"), NOW
    )


def answers_by_event(sent: list[tuple[str, dict[str, Any], str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for _, content, _ in sent:
        target = content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        if target:
            found.setdefault(target, []).append(content["body"])
    return found


async def places(dispatcher: Dispatcher) -> list[tuple[str, str]]:
    async with dispatcher.db.transaction() as s:
        rows = await registrations.active_registrations(s, 1)
    return [(r.user_id, r.status) for r in sorted(rows, key=lambda r: (r.status != "registered", r.id))]


async def counts(dispatcher: Dispatcher) -> tuple[int, int]:
    """(outbox rows, events recorded as handled)."""
    async with dispatcher.db.transaction() as s:
        messages = (await s.exec(select(func.count(col(OutboxMessage.id))))).one()
        handled = (await s.exec(select(func.count(col(HandledEvent.event_id))))).one()
    return messages, handled


@on_both_databases
async def test_a_batch_is_decided_in_order_and_a_failing_command_takes_nothing_of_the_others(bot):
    config, db = bot
    dispatcher = dispatcher_for(config, db, [*ROUTERS, batch_router])
    await new_session(dispatcher, capacity=2)
    people = [f"@p{n}:localhost" for n in range(5)]
    events = burst(
        (people[0], "!anmelden #1"),
        (people[1], "!anmelden #1"),
        ("@bernd:localhost", "!schreiben-und-scheitern"),
        (people[2], "!anmelden #1"),
        (people[3], "!anmelden #1"),
        (people[4], "!anmelden #1"),
    )

    assert await dispatcher.handle_batch(events, NOW) == len(events)

    registered, waiting = RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED
    assert await places(dispatcher) == [
        (people[0], registered),
        (people[1], registered),
        (people[2], waiting),
        (people[3], waiting),
        (people[4], waiting),
    ]
    answers = answers_by_event(dispatcher.outbox.sent)
    assert {event.event_id for event in events} <= set(answers)
    assert all(len(answers[event.event_id]) == 1 for event in events)
    assert "Ref." in answers["$2"][0]
    assert "Warteliste an Platz 1" in answers["$3"][0] and "Warteliste an Platz 3" in answers["$5"][0]
    # What the failing command wrote and queued is gone; it is still recorded as handled.
    async with db.transaction() as s:
        assert await state.get_state(s, "written-by") is None
        assert await state.handled(s, ["$2"]) == {"$2"}
    assert not any(room.startswith("!dm") for room, _, _ in dispatcher.outbox.sent)


@on_both_databases
async def test_a_crash_in_the_middle_of_a_batch_leaves_nothing_and_the_batch_again_answers_each_once(bot):
    config, db = bot
    first = dispatcher_for(config, db, [*ROUTERS, batch_router])
    await new_session(first, capacity=1)
    before = await counts(first)
    events = burst(
        ("@p0:localhost", "!anmelden #1"),
        ("@p1:localhost", "!absturz"),
        ("@p2:localhost", "!anmelden #1"),
    )

    crashing["on"] = "$1"
    try:
        with pytest.raises(Crash):
            await first.handle_batch(events, NOW)
    finally:
        crashing["on"] = ""
    assert await places(first) == [] and await counts(first) == before

    # After the restart the same sync comes again (its token was not stored), twice even.
    again = dispatcher_for(config, db, [*ROUTERS, batch_router])
    assert await again.handle_batch(events, NOW) == 3
    assert await again.handle_batch([*events, *events], NOW) == 0
    assert await places(again) == [
        ("@p0:localhost", RegistrationStatus.REGISTERED),
        ("@p2:localhost", RegistrationStatus.WAITLISTED),
    ]
    answers = answers_by_event(again.outbox.sent)
    assert [len(answers[event.event_id]) for event in events] == [1, 1, 1]
    assert await counts(again) == (before[0] + 3, before[1] + 3)


class SlowHomeserver(FakeOutbox):
    """Takes a while for each send and notes how many were under way at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = self.most_in_flight = 0

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str, event_type: str = "m.room.message") -> str:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.02)
            return await super().send(room_id, content, tx_id, event_type)
        finally:
            self.in_flight -= 1


async def test_answers_to_different_commands_go_out_side_by_side_and_posts_of_a_room_in_order(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    sender = SlowHomeserver()
    deliverer = Deliverer(config, db, sender, lambda: NOW)
    messages = [
        Outgoing(f"reply:${n}:0", {"msgtype": "m.notice", "body": f"Antwort {n}"}, room_id=ROOM, answers=f"${n}")
        for n in range(20)
    ]
    posts = [Outgoing(f"post:{n}", {"msgtype": "m.text", "body": f"Beitrag {n}"}, room_id=ROOM) for n in range(5)]
    async with db.transaction() as s:
        written = await outbox.enqueue_all(s, [(m, NOW + timedelta(hours=1)) for m in [*messages, *posts]], NOW)
        heads = await outbox.lane_heads_among(s, written)
    assert len(heads) == 21  # every answer, and the first post of the room

    await deliverer.drain()

    bodies = sender.bodies()
    assert sorted(bodies) == sorted(m.content["body"] for m in [*messages, *posts])
    assert [b for b in bodies if b.startswith("Beitrag")] == [f"Beitrag {n}" for n in range(5)]
    assert sender.most_in_flight > 10
    await db.close()


class RateLimitingClient:
    """Stands in for nio's client: the first send gets a 429 (which nio reports to the response
    callbacks, waits out and retries); notes how many sends were under way at once."""

    def __init__(self, retry_after_ms: int) -> None:
        self.retry_after_ms = retry_after_ms
        self.olm = None  # no encryption
        self.callbacks: list[Any] = []
        self.sent: list[tuple[float, str]] = []
        self.in_flight = self.most_in_flight = 0

    def add_response_callback(self, callback: Any, kind: type) -> None:
        assert kind is ErrorResponse
        self.callbacks.append(callback)

    async def room_send(self, room_id: str, event_type: str, content: dict[str, Any], **_: Any) -> RoomSendResponse:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if not self.sent:
                self.sent.append((asyncio.get_running_loop().time(), "429"))
                for callback in self.callbacks:
                    await callback(RoomSendError("Too Many Requests", "M_LIMIT_EXCEEDED", self.retry_after_ms))
                await asyncio.sleep(self.retry_after_ms / 1000)
            await asyncio.sleep(0.005)
            self.sent.append((asyncio.get_running_loop().time(), content["body"]))
            return RoomSendResponse(f"$e{len(self.sent)}", room_id)
        finally:
            self.in_flight -= 1


async def test_after_a_429_sends_are_paced_one_at_a_time_and_status_and_check_config_say_so(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    client = RateLimitingClient(retry_after_ms=200)
    matrix = Matrix(client, db, "store key")  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()

    events = await asyncio.gather(*(matrix.send(ROOM, {"body": f"Nr. {n}"}, f"tx{n}") for n in range(8)))

    assert len(set(events)) == 8 and sorted(body for _, body in client.sent[1:]) == [f"Nr. {n}" for n in range(8)]
    assert all(at - started >= 0.2 for at, _ in client.sent[1:])  # none before the homeserver's wait was over
    assert client.most_in_flight == 2  # the one that got the 429, and the paced ones one at a time
    dispatcher = dispatcher_for(config, db)
    now = datetime.now(UTC)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$st", "!status"), now)
    assert "Ratenbegrenzung" in dispatcher.outbox.bodies()[-1]
    findings = await check_database(config.storage_url)
    assert [f.key for f in findings] == ["check.database_ok", "check.rate_limited"]
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$later", "!status"), now + timedelta(hours=2))
    assert "Ratenbegrenzung" not in dispatcher.outbox.bodies()[-1]
    await db.close()
