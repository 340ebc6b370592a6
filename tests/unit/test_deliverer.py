"""The outbox deliverer on a real database with a movable clock and a homeserver stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.deliverer import BULK_SENDERS, BULK_SENDS, PARALLEL_SENDS, Deliverer
from bot.matrix import MatrixError
from rules.rendering.content import relation
from rules.timing import retry_delay
from storage import outbox
from storage.db import Fenced
from storage.models import OutboxStatus
from storage.outbox import Outgoing
from tests.unit.fakes import COORDINATOR, INVITER, NOW, FakeOutbox, configured

ROOM = "!room:localhost"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
async def world(tmp_path: Path, migrated_url: str):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    clock, sender = Clock(), FakeOutbox()
    yield db, clock, sender, Deliverer(config, db, sender, clock)
    await db.close()


async def put(db, clock, *messages: Outgoing, ttl: timedelta = timedelta(hours=1)) -> None:
    async with db.transaction() as s:
        for message in messages:
            await outbox.enqueue(s, message, clock.now, clock.now + ttl)


def text(key: str, body: str, **where) -> Outgoing:
    return Outgoing(key, {"msgtype": "m.notice", "body": body}, **{"room_id": ROOM, **where})


async def statuses(db) -> dict[str, str]:
    async with db.transaction() as s:
        rows = [await outbox.get(s, i) for i in range(1, 50)]
    return {row.key: row.status for row in rows if row is not None}


async def test_a_lane_keeps_its_order_and_a_repeated_key_is_written_once(world):
    db, clock, sender, deliverer = world
    await put(db, clock, text("a", "eins"), text("b", "zwei"), text("a", "eins nochmal"), text("c", "drei"))
    await deliverer.drain()
    assert sender.bodies() == ["eins", "zwei", "drei"]
    assert len({tx for _, _, tx in sender.sent}) == 3


async def test_a_message_is_stored_as_ascii_and_goes_out_as_written(world):
    db, clock, sender, deliverer = world
    body = "Ihre Themenwünsche mit 👍-Stimmen – „bitte“"
    await put(db, clock, text("a", body))
    async with db.transaction() as s:
        stored = (await outbox.get(s, 1)).content
    assert stored.isascii()  # held at a byte a character, not four (the emoji)
    await deliverer.drain()
    assert sender.bodies() == [body]


async def test_temporary_failures_are_retried_with_backoff_and_the_same_transaction_id(world):
    db, clock, sender, deliverer = world
    sender.fail_with = MatrixError("502: unknown error", 502)
    await put(db, clock, text("a", "eins"), text("b", "zwei"))
    await deliverer.drain()
    await deliverer.drain()  # too early for the next attempt
    assert sender.bodies() == ["eins"]  # the lane waits: "zwei" must not overtake "eins"
    sender.fail_with = None
    clock.now += timedelta(minutes=1)
    await deliverer.drain()
    assert sender.bodies() == ["eins", "eins", "zwei"]
    assert sender.sent[0][2] == sender.sent[1][2]
    assert await statuses(db) == {"a": OutboxStatus.SENT, "b": OutboxStatus.SENT}


async def test_lanes_do_not_wait_for_each_other(world):
    db, clock, sender, deliverer = world
    sender.fail_with, sender.failing_rooms = ConnectionResetError(), {ROOM}
    await put(db, clock, text("a", "im Raum"), text("b", "privat", room_id=None, user_id="@bernd:localhost"))
    await deliverer.drain()
    assert [room for room, _, _ in sender.sent] == [ROOM, "!dm-@bernd:localhost"]
    assert (await statuses(db))["b"] == OutboxStatus.SENT


async def test_a_final_refusal_is_not_retried_and_the_coordinators_are_told(world):
    db, clock, sender, deliverer = world
    sender.fail_with, sender.failing_rooms = MatrixError("403: not in room", 403, "M_FORBIDDEN"), {ROOM}
    await put(db, clock, text("a", "eins"))
    await deliverer.drain()
    clock.now += timedelta(hours=1)
    await deliverer.drain()
    assert [room for room, _, _ in sender.sent] == [ROOM, f"!dm-{COORDINATOR}"]
    assert "nicht zugestellt" in sender.bodies()[-1]
    assert (await statuses(db))["a"] == OutboxStatus.FAILED


async def test_temporary_failures_give_up_when_the_message_no_longer_makes_sense(world):
    db, clock, sender, deliverer = world
    sender.fail_with, sender.failing_rooms = MatrixError("unknown error"), {ROOM}
    await put(db, clock, text("a", "eins"), ttl=timedelta(minutes=5))
    for _ in range(20):
        await deliverer.drain()
        clock.now += timedelta(minutes=1)
    assert (await statuses(db))["a"] == OutboxStatus.FAILED
    assert sum(room == ROOM for room, _, _ in sender.sent) > 1  # retried meanwhile
    assert [room for room, _, _ in sender.sent][-1] == f"!dm-{COORDINATOR}"


async def test_a_post_into_a_thread_waits_for_its_root_and_files_are_uploaded(world):
    db, clock, sender, deliverer = world
    root = Outgoing("root", {"msgtype": "m.text", "body": "Fragerunde"}, room_id=ROOM)
    question = Outgoing(
        "q",
        {"msgtype": "m.text", "body": "Frage 1", "m.relates_to": relation(thread_root="$pending")},
        room_id=ROOM,
        thread_of="root",
    )
    file = Outgoing(
        "f",
        {
            "msgtype": "m.file",
            "body": "x.md",
            "filename": "x.md",
            "info": {"mimetype": "text/markdown"},
            "m.relates_to": relation(thread_root="$pending"),
        },
        room_id=ROOM,
        thread_of="root",
        attachment=b"# Fragen",
    )
    await put(db, clock, root, question, file)
    await deliverer.drain()
    root_id = "$event1"
    assert sender.sent[1][1]["m.relates_to"] == relation(thread_root=root_id)
    assert sender.sent[2][1]["url"] == "mxc://localhost/x.md" and sender.uploads == [b"# Fragen"]
    assert sender.sent[2][1]["m.relates_to"]["event_id"] == root_id


def answers(count: int, room_id: str = ROOM) -> list[Outgoing]:
    """The answers to `count` commands in a room (each a lane of its own)."""
    return [text(f"reply:$c{n}:0", f"Antwort {n}", room_id=room_id, answers=f"$c{n}") for n in range(count)]


def direct_messages(sender: FakeOutbox, user_id: str) -> list[str]:
    return [content["body"] for room, content, _ in sender.sent if room == f"!dm-{user_id}"]


async def test_ten_refused_answers_where_the_bot_may_not_post_make_one_report_and_it_leaves(world):
    db, clock, sender, deliverer = world
    sender.muted = {ROOM}  # the bot's power level is below what m.room.message needs
    sender.fail_with, sender.failing_rooms = MatrixError("403: not allowed", 403, "M_FORBIDDEN"), {ROOM}
    await put(db, clock, *answers(10))
    await deliverer.drain()

    assert set((await statuses(db)).values()) == {OutboxStatus.FAILED, OutboxStatus.SENT}
    assert sum(status == OutboxStatus.FAILED for status in (await statuses(db)).values()) == 10
    (report,) = direct_messages(sender, COORDINATOR)
    assert "darf regiobot keine Nachrichten senden" in report and ROOM in report
    (told,) = direct_messages(sender, INVITER)
    assert "Sie haben regiobot in den Raum" in told
    assert sender.left == [ROOM]


async def test_a_failure_is_reported_once_a_day_for_a_room_and_cause_also_after_a_restart(world):
    db, clock, sender, deliverer = world
    sender.fail_with, sender.failing_rooms = MatrixError("413: too large", 413, "M_TOO_LARGE"), {ROOM, "!other"}
    await put(db, clock, *answers(3))
    await deliverer.drain()
    restarted = Deliverer(deliverer.config, db, sender, clock)
    await put(db, clock, text("later", "noch eine"))
    await restarted.drain()
    assert len(direct_messages(sender, COORDINATOR)) == 1

    await put(db, clock, text("elsewhere", "anderswo", room_id="!other"))  # another room
    await restarted.drain()
    sender.fail_with = MatrixError("403: not allowed", 403, "M_FORBIDDEN")  # another cause
    await put(db, clock, text("forbidden", "verboten"))
    await restarted.drain()
    assert len(direct_messages(sender, COORDINATOR)) == 3
    clock.now += timedelta(days=1)  # the next day
    await put(db, clock, text("tomorrow", "morgen"))
    await restarted.drain()
    assert len(direct_messages(sender, COORDINATOR)) == 4
    assert sender.left == []  # the bot may post there: refused for another reason, it stays


async def test_a_send_under_way_is_not_made_once_the_instance_is_demoted(world):
    """The lock is lost after the message was read, while its direct room is being found: the send
    is not made, and the message waits for the active instance."""
    db, clock, sender, deliverer = world
    find_room = sender.direct_room

    async def demoted_meanwhile(user_id: str) -> str:
        db.fence = lambda: False
        return await find_room(user_id)

    sender.direct_room = demoted_meanwhile
    await put(db, clock, text("a", "privat", room_id=None, user_id="@bernd:localhost"))
    with pytest.raises(Fenced):
        await deliverer.drain()
    assert sender.sent == []
    db.fence = lambda: True
    assert await statuses(db) == {"a": OutboxStatus.PENDING}


class Held(FakeOutbox):
    """The homeserver stand-in, holding every message into a room whose id begins with `rooms`
    (the direct rooms unless told otherwise) until `release` is set."""

    def __init__(self, rooms: str = "!dm-") -> None:
        super().__init__()
        self.rooms = rooms
        self.release = asyncio.Event()
        self.held = 0
        self.most_held = 0

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str, event_type: str = "m.room.message") -> str:
        if room_id.startswith(self.rooms):
            self.held += 1
            self.most_held = max(self.most_held, self.held)
            try:
                await self.release.wait()
            finally:
                self.held -= 1
        return await super().send(room_id, content, tx_id, event_type)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_fan_out_takes_only_the_bulk_send_slots_and_answers_go_out_meanwhile(world):
    """A reminder to more people than BULK_SENDS: that many of its copies are in flight at once,
    and an answer to a command goes out while all of them are held at the homeserver."""
    db, clock, _, deliverer = world
    sender = deliverer.sender = Held()
    people = [f"@person{n}:localhost" for n in range(BULK_SENDS + 4)]
    await put(db, clock, *(text(f"dm:{n}", "Erinnerung", room_id=None, user_id=p) for n, p in enumerate(people)))
    fan_out = asyncio.create_task(deliverer.drain())
    await until(lambda: sender.held == BULK_SENDS)
    await put(db, clock, *answers(2))
    answering = asyncio.create_task(deliverer.drain())
    await until(lambda: len(sender.sent) == 2)
    assert sender.bodies() == ["Antwort 0", "Antwort 1"] and sender.held == BULK_SENDS
    sender.release.set()
    await asyncio.gather(fan_out, answering)
    assert sender.most_held == BULK_SENDS
    assert sorted(room for room, _, _ in sender.sent[2:]) == sorted(f"!dm-{p}" for p in people)


async def test_messages_handed_over_beyond_the_send_slots_wait_as_rows_and_all_go_out(world):
    """A reminder's copies handed over at once (`send_now`, the fast path): BULK_SENDERS of them
    are taken up (BULK_SENDS on their way), the others wait in turn as rows, without a task each;
    answers handed over meanwhile go out at once; every copy goes out once."""
    db, clock, _, deliverer = world
    sender = deliverer.sender = Held()
    deliverer.start()
    await until(lambda: deliverer._started)  # its first round: nothing was left over
    people = [f"@person{n}:localhost" for n in range(PARALLEL_SENDS + 20)]
    copies = [
        (text(f"dm:{n}", "Erinnerung", room_id=None, user_id=p), clock.now + timedelta(hours=1))
        for n, p in enumerate(people)
    ]
    tasks = len(asyncio.all_tasks())
    async with db.transaction() as s:
        heads = await outbox.write(s, copies, clock.now)
    deliverer.send_now(heads)
    await until(lambda: sender.held == BULK_SENDS)
    assert len(asyncio.all_tasks()) - tasks == BULK_SENDERS
    async with db.transaction() as s:
        heads = await outbox.write(s, [(answer, clock.now + timedelta(hours=1)) for answer in answers(2)], clock.now)
    deliverer.send_now(heads)
    await until(lambda: len(sender.sent) == 2)
    assert sender.bodies() == ["Antwort 0", "Antwort 1"] and sender.held == BULK_SENDS
    sender.release.set()
    await until(lambda: not deliverer.sending)
    await deliverer.stop()
    assert sender.most_held == BULK_SENDS
    assert sorted(room for room, _, _ in sender.sent[2:]) == sorted(f"!dm-{p}" for p in people)
    async with db.transaction() as s:
        assert (await outbox.backlog(s)).pending == 0


async def test_a_round_works_through_the_lanes_it_finds_with_as_many_tasks_as_send_slots(world):
    """Messages left over from before a start (or due for a retry): a round takes up to 100 lanes
    and works through them with PARALLEL_SENDS tasks (BULK_SENDS on their way), not a task each;
    every message goes out once, each lane in order."""
    db, clock, _, deliverer = world
    sender = deliverer.sender = Held()
    people = [f"@person{n}:localhost" for n in range(PARALLEL_SENDS + 20)]
    await put(db, clock, *(text(f"dm:{n}", "Erinnerung", room_id=None, user_id=p) for n, p in enumerate(people)))
    await put(db, clock, text("dm:0:more", "Nachtrag", room_id=None, user_id=people[0]))
    tasks = len(asyncio.all_tasks())
    sending = asyncio.create_task(deliverer.drain())
    await until(lambda: sender.held == BULK_SENDS)
    assert len(asyncio.all_tasks()) - tasks == 1 + PARALLEL_SENDS  # the round and its workers
    sender.release.set()
    await sending
    assert sender.most_held == BULK_SENDS
    rooms = [room for room, _, _ in sender.sent]
    assert sorted(rooms) == sorted([*(f"!dm-{p}" for p in people), f"!dm-{people[0]}"])
    mine = [body for room, body in zip(rooms, sender.bodies(), strict=True) if room == f"!dm-{people[0]}"]
    assert mine == ["Erinnerung", "Nachtrag"]
    async with db.transaction() as s:
        assert (await outbox.backlog(s)).pending == 0


async def test_the_sync_loop_can_wait_for_the_answers_under_way_but_not_for_a_fan_out(world):
    """`answers_out`: until the answers being sent are out, or as long as it was asked to wait;
    a reminder to many people is not waited for."""
    db, clock, _, deliverer = world
    sender = deliverer.sender = Held(ROOM)
    await put(db, clock, *answers(2))
    sending = asyncio.create_task(deliverer.drain())
    await until(lambda: sender.held == 2)
    waiting = asyncio.create_task(deliverer.answers_out(60.0))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    sender.release.set()
    await asyncio.wait_for(waiting, 5.0)
    assert sender.bodies() == ["Antwort 0", "Antwort 1"]
    await sending

    sender.release.clear()
    await put(db, clock, text("reply:$c9:0", "Antwort 9", answers="$c9"))
    sending = asyncio.create_task(deliverer.drain())
    await until(lambda: sender.held == 1)
    await asyncio.wait_for(deliverer.answers_out(0.05), 5.0)  # gave up waiting: still held
    assert sender.held == 1
    sender.release.set()
    await sending

    sender = deliverer.sender = Held()
    await put(db, clock, text("dm:0", "Erinnerung", room_id=None, user_id="@person:localhost"))
    sending = asyncio.create_task(deliverer.drain())
    await until(lambda: sender.held == 1)
    await asyncio.wait_for(deliverer.answers_out(60.0), 5.0)
    assert sender.held == 1 and deliverer.sending  # the bot is not idle while the copy is on its way
    sender.release.set()
    await sending
    assert not deliverer.sending


async def test_it_says_when_the_last_message_on_its_way_is_out(world):
    """`settled` once nothing is on its way any more (the memory release after a fan-out, whose
    copies do not come back in the sync), not while some copies are still held."""
    db, clock, _, deliverer = world
    sender = deliverer.sender = Held()
    settled: list[bool] = []
    deliverer.settled = lambda: settled.append(deliverer.sending)
    await put(db, clock, *(text(f"dm:{n}", "Erinnerung", room_id=None, user_id=f"@p{n}:localhost") for n in range(3)))
    sending = asyncio.create_task(deliverer.drain())
    await until(lambda: sender.held == 3)
    assert settled == []
    sender.release.set()
    await sending
    assert settled == [False]


def test_backoff_grows_with_jitter_and_is_capped():
    assert retry_delay(1, lambda a, b: b) == timedelta(seconds=2)
    assert retry_delay(3, lambda a, b: a) == timedelta(seconds=4)
    assert retry_delay(30, lambda a, b: b) == timedelta(minutes=5)
