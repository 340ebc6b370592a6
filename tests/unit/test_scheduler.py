"""The scheduler's delivery rules on a real database with a frozen, movable clock.

(Timing against a real homeserver, restarts and APScheduler's own jobs are end-to-end tests.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import FEATURES
from bot.deliverer import Deliverer
from bot.dispatch import EventKind, Incoming
from bot.features import Feature, Features
from bot.matrix import MatrixError
from bot.scheduler import HORIZON, PREPARE_AHEAD, PRUNE_CLEAR_OF, Scheduler, job_id
from rules.timing import Kind
from storage import feedback, planned
from storage.db import Database
from storage.models import PersonSettings, PlannedStatus, Registration, Session
from storage.planned import plan_session
from storage.rows import save
from tests.unit.fakes import FakeOutbox, configured, dispatcher_for

CREATED = datetime(2026, 11, 1, 9, tzinfo=UTC)
START = datetime(2026, 12, 10, 13, tzinfo=UTC)  # Thursday 14:00 in Berlin
ROOM, COORDINATOR, CREATOR = "!room:localhost", "@anna:localhost", "@carla:localhost"


class DeliveringScheduler(Scheduler):
    """The scheduler, with the outbox delivered right after each of its steps."""

    def __init__(self, config, db, clock, outbox) -> None:
        super().__init__(config, db, lambda: None, clock, self.note_prepared, features=FEATURES)
        self.deliverer = Deliverer(config, db, outbox, clock, features=FEATURES)
        self.prepared: list[list[str]] = []

    async def note_prepared(self, user_ids: list[str]) -> None:
        self.prepared.append(user_ids)

    async def sweep(self) -> None:
        await super().sweep()
        await self.deliverer.drain()

    async def refresh_announcement(self, session_id: int) -> None:
        await super().refresh_announcement(session_id)
        await self.deliverer.drain()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(tmp_path: Path, migrated_url: str):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    clock, outbox = Clock(CREATED), FakeOutbox()
    async with db.transaction() as s:
        session = await save(
            s,
            Session(
                title="Kommunale Wärmeplanung",
                starts_at=START,
                ends_at=START + timedelta(hours=1),
                capacity=2,
                link="https://meet.example.org/waerme",
                room_id=ROOM,
                created_by=CREATOR,
                created_at=CREATED,
            ),
        )
        await plan_session(s, session, config, CREATED)
    yield config, db, clock, outbox, DeliveringScheduler(config, db, clock, outbox), session.id
    await db.close()


async def announcements_sent(db: Database, session_id: int) -> None:
    """The session's announcements went out earlier."""
    async with db.transaction() as s:
        for row in await planned.pending(s, session_id=session_id):
            if row.kind == Kind.ANNOUNCEMENT:
                row.status = PlannedStatus.SENT


async def rows(db: Database, session_id: int) -> dict[str, tuple[str, str | None]]:
    async with db.transaction() as s:
        found = await planned.planned_of_session(s, session_id, [k.value for k in Kind])
    return {p.key.split(":", 2)[0] + ":" + p.key.rsplit(":", 1)[1]: (p.status, p.last_error) for p in found}


async def test_each_message_goes_out_once_at_its_time(world):
    _config, db, clock, outbox, scheduler, sid = world
    clock.now = START - timedelta(days=14)
    await scheduler.sweep()
    await scheduler.sweep()
    assert len(outbox.sent) == 1
    room, content, _tx_id = outbox.sent[0]
    assert room == ROOM and content["msgtype"] == "m.text" and content["m.mentions"] == {}
    assert "Kommunale Wärmeplanung" in content["body"] and "✅" in content["body"]
    assert "2 von 2 Plätzen frei" in content["body"]
    for before in (timedelta(days=2), timedelta(days=1), timedelta(minutes=15)):
        clock.now = START - before
        await scheduler.sweep()
    assert len(outbox.sent) == 4  # 2d announcement, 1d and 15 min reminders
    reminder = outbox.bodies()[-1]
    assert "in 15 Minuten" in reminder and "https://meet.example.org/waerme" in reminder
    assert "https://meet.example.org" not in outbox.bodies()[-2]  # the day-before reminder has no link
    assert "verspätet" not in reminder
    assert len({tx for _, _, tx in outbox.sent}) == 4
    assert set(await rows(db, sid)) == {
        "announcement:1209600s",
        "announcement:172800s",
        "reminder:86400s",
        "reminder:900s",
        "feedback:1",  # after the session
    }
    statuses = {key: status for key, (status, _) in (await rows(db, sid)).items()}
    assert statuses.pop("feedback:1") == PlannedStatus.PENDING
    assert set(statuses.values()) == {PlannedStatus.SENT}


async def test_late_within_grace_is_sent_and_says_so_beyond_grace_it_is_skipped_and_reported(world):
    _config, db, clock, outbox, scheduler, sid = world
    await announcements_sent(db, sid)
    clock.now = START - timedelta(days=1) + timedelta(hours=7)  # day-before reminder: 7 h late (grace 6 h)
    await scheduler.sweep()
    assert (await rows(db, sid))["reminder:86400s"] == ("skipped", "skip_too_late")
    assert [room for room, _, _ in outbox.sent] == [f"!dm-{COORDINATOR}", f"!dm-{CREATOR}"]
    assert all("nicht gesendet" in body for body in outbox.bodies())
    assert outbox.sent[0][1]["m.mentions"] == {"user_ids": [COORDINATOR]}
    clock.now = START - timedelta(minutes=10)  # 15-minute reminder: 5 min late, sent, marked late
    await scheduler.sweep()
    assert "in 10 Minuten" in outbox.bodies()[-1] and "verspätet" in outbox.bodies()[-1]
    clock.now = START + timedelta(minutes=1)
    await scheduler.sweep()
    assert len(outbox.sent) == 3


async def test_reminders_by_direct_message_to_those_who_asked_prepared_ahead_and_sent_together(world):
    _config, db, clock, outbox, scheduler, sid = world
    async with db.transaction() as s:
        for user, wants in (("@bernd:localhost", True), ("@dora:localhost", False)):
            await save(
                s,
                Registration(session_id=sid, user_id=user, status="registered", queued_at=CREATED, updated_at=CREATED),
            )
            await save(s, PersonSettings(user_id=user, dm_reminders=wants, updated_at=CREATED))
    await announcements_sent(db, sid)
    await scheduler.prepare_direct_rooms(sid)  # a few minutes before: direct rooms made ahead
    assert scheduler.prepared == [["@bernd:localhost"]]
    clock.now = START - timedelta(days=1)
    await scheduler.sweep()  # the room reminder takes its direct copies along
    assert [room for room, _, _ in outbox.sent] == [ROOM, "!dm-@bernd:localhost"]
    await scheduler.sweep()
    assert len(outbox.sent) == 2
    dm = outbox.sent[1][1]
    assert dm["msgtype"] == "m.text" and dm["m.mentions"] == {"user_ids": ["@bernd:localhost"]}
    assert "morgen um 14:00 Uhr" in dm["body"]


async def test_a_send_lost_in_transit_is_retried_with_the_same_transaction_id(world):
    _config, db, clock, outbox, scheduler, sid = world
    clock.now = START - timedelta(days=14)
    outbox.fail_with = ConnectionResetError()
    await scheduler.sweep()
    outbox.fail_with = None
    await scheduler.sweep()
    assert len(outbox.sent) == 1  # the retry waits for its time
    clock.now += timedelta(minutes=1)
    await scheduler.sweep()
    assert len(outbox.sent) == 2 and outbox.sent[0][2] == outbox.sent[1][2]
    assert (await rows(db, sid))["announcement:1209600s"] == ("sent", None)


async def test_a_refused_message_is_not_retried_blindly_but_reported_as_failed(world):
    _config, db, clock, outbox, scheduler, sid = world
    clock.now = START - timedelta(days=14)
    outbox.fail_with, outbox.failing_rooms = MatrixError("403: not in room", 403, "M_FORBIDDEN"), {ROOM}
    await scheduler.sweep()
    clock.now += timedelta(hours=1)
    await scheduler.sweep()
    refused = [tx for room, _, tx in outbox.sent if room == ROOM]
    assert len(refused) == 1
    assert (await rows(db, sid))["announcement:1209600s"] == ("failed", "403: not in room")
    reports = [content["body"] for room, content, _ in outbox.sent if room != ROOM]
    assert len(reports) == 2 and all("nicht zugestellt" in body for body in reports)  # coordinator and creator


async def test_the_announcement_is_edited_when_places_change_without_pinging(world):
    _config, db, clock, outbox, scheduler, sid = world
    clock.now = START - timedelta(days=14)
    await scheduler.sweep()
    await scheduler.refresh_announcement(sid)
    assert len(outbox.sent) == 1  # nothing changed yet
    async with db.transaction() as s:
        await save(
            s,
            Registration(
                session_id=sid,
                user_id="@bernd:localhost",
                status="registered",
                queued_at=clock.now,
                updated_at=clock.now,
            ),
        )
    await scheduler.refresh_announcement(sid)
    await scheduler.refresh_announcement(sid)
    assert len(outbox.sent) == 2
    edit = outbox.sent[1][1]
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$event1"}
    assert edit["m.mentions"] == {} and edit["m.new_content"]["m.mentions"] == {}
    assert "1 von 2 Plätzen frei" in edit["m.new_content"]["body"]


async def test_after_the_end_each_registered_person_is_asked_once_and_answers_by_reply_or_digit(world):
    config, db, clock, outbox, scheduler, sid = world
    people = ["@bernd:localhost", "@clara:localhost"]
    async with db.transaction() as s:
        for person in [*people, "@wartend:localhost"]:
            status = "waitlisted" if person.startswith("@wartend") else "registered"
            await save(
                s, Registration(session_id=sid, user_id=person, status=status, queued_at=CREATED, updated_at=CREATED)
            )
    clock.now = START + timedelta(hours=1, minutes=14)
    await scheduler.sweep()
    assert not any("Wie war" in b for b in outbox.bodies())
    clock.now = START + timedelta(hours=1, minutes=15)
    await scheduler.sweep()  # the trigger plans one question per registered person …
    await scheduler.sweep()  # … which go out
    await scheduler.sweep()
    questions = [(room, c) for room, c, _ in outbox.sent if "Wie war #1" in c["body"]]
    assert sorted(room for room, _ in questions) == [f"!dm-{p}" for p in people]
    assert all(c["m.mentions"] == {"user_ids": [room.removeprefix("!dm-")]} for room, c in questions)
    event_of = {room: f"$event{i + 1}" for i, (room, c, _) in enumerate(outbox.sent) if "Wie war #1" in c["body"]}
    for person in people:
        digits = [key for room, event, key in outbox.reactions if event == event_of[f"!dm-{person}"]]
        assert digits == [f"{n}\ufe0f\u20e3" for n in range(1, 6)]

    dispatcher = dispatcher_for(config, db, outbox=outbox)
    bernd, clara = people
    later = clock.now + timedelta(minutes=5)
    answer = Incoming(
        f"!dm-{bernd}", bernd, "$b1", "> <@bot> Wie war …\n\n4 Viel gelernt", reply_to=event_of[f"!dm-{bernd}"]
    )
    await dispatcher.handle(answer, later)
    assert "gespeichert" in outbox.bodies()[-1]
    foreign = Incoming(f"!dm-{bernd}", clara, "$c0", "1 sabotiert", reply_to=event_of[f"!dm-{bernd}"])
    await dispatcher.handle(foreign, later)  # only the person asked can answer their question
    digit = Incoming(
        f"!dm-{clara}", clara, "$c1", kind=EventKind.REACTION, key="2\ufe0f\u20e3", target=event_of[f"!dm-{clara}"]
    )
    await dispatcher.handle(digit, later)
    await dispatcher.handle(Incoming(f"!dm-{clara}", clara, "$c2", "gut", reply_to=event_of[f"!dm-{clara}"]), later)
    assert "Bewertung von 1 bis 5" in outbox.bodies()[-1]
    async with db.transaction() as s:
        answers = sorted((a.rating, a.text) for a in await feedback.answers(s, sid))
    assert answers == [(2, None), (4, "Viel gelernt")]

    await scheduler.sweep()
    assert len([b for b in outbox.bodies() if "Wie war #1" in b]) == 2  # once each


async def test_jobs_are_placed_for_the_messages_due_soon_and_each_sweep_places_those_come_within_reach(world):
    _config, db, clock, _outbox, scheduler, sid = world
    await announcements_sent(db, sid)
    async with db.transaction() as s:
        reminder = next(r for r in await planned.pending(s, session_id=sid) if r.key.endswith(":86400s"))

    def placed() -> set[str]:
        return {job.id for job in scheduler._aps.get_jobs()} - {"sweep", "prune"}

    clock.now = START - timedelta(days=2)
    await scheduler.start()
    try:
        assert placed() == set()  # nothing due within the horizon: no job for the far future
        clock.now = reminder.due_at - HORIZON + timedelta(seconds=30)
        await scheduler.sweep()
        assert placed() == {job_id(reminder.id), f"prepare-{reminder.id}"}
        prepare_at = scheduler._aps.get_job(f"prepare-{reminder.id}").next_run_time
        assert prepare_at == reminder.due_at - PREPARE_AHEAD
        clock.now += timedelta(minutes=6)  # past the preparation: a sweep does not place it again
        await scheduler.sweep()
        assert scheduler._aps.get_job(f"prepare-{reminder.id}").next_run_time == prepare_at
    finally:
        await scheduler.stop()


async def test_the_pruning_steps_aside_for_a_message_due_about_now_and_runs_once_it_is_out(world):
    """Pruning is one long transaction: with a reminder due within PRUNE_CLEAR_OF (or handed over
    that recently) it runs that long after it instead, so the reminder's fan-out does not wait."""
    config, db, clock, _outbox, _scheduler, sid = world
    pruned: list[datetime] = []

    async def note(_s: object, _config: object, now: datetime) -> None:
        pruned.append(now)

    scheduler = Scheduler(config, db, lambda: None, clock, features=Features([Feature("note", periodic=(note,))]))
    await announcements_sent(db, sid)
    async with db.transaction() as s:
        reminder = min(await planned.pending(s, session_id=sid), key=lambda row: row.due_at)
    due = reminder.due_at
    clock.now = due - timedelta(hours=1)
    await scheduler.start()
    try:
        await scheduler.prune()  # nothing due soon: at once
        assert pruned == [clock.now]
        clock.now = due - timedelta(minutes=1)
        await scheduler.prune()
        assert len(pruned) == 1
        assert scheduler._aps.get_job("prune-later").next_run_time == due + PRUNE_CLEAR_OF
        clock.now = due + timedelta(seconds=10)
        await scheduler.deliver(reminder.id)  # handed over: its copies may still be going out
        async with db.transaction() as s:
            assert await planned.pending(s, due_by=clock.now) == []
        await scheduler.prune()
        later = scheduler._aps.get_job("prune-later")
        assert len(pruned) == 1 and later.next_run_time == due + PRUNE_CLEAR_OF
        clock.now = due + PRUNE_CLEAR_OF
        await scheduler.prune(*later.args)  # put off once: done now, whatever is due
        assert pruned[1:] == [clock.now]
    finally:
        await scheduler.stop()
