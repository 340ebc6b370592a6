"""The use cases of sessions and registrations called directly, as a web form will call them (no
chat room: `room_id` is ""), and from chat rooms: roles are decided in the room a session is (or is
to be) announced in, never only by the router's declaration; only official rooms count.

Two regions: Paderborn's coordinator holds power in the Paderborn room only; Anna is a coordinator
from the config. A `Raum:` naming the Bielefeld room is refused for Paderborn's coordinator
wherever he writes it — also from the Bielefeld room itself, and when planning a Paderborn wish
there (issue 24, item 4).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.acting import Acting
from bot.dispatch import Incoming
from rules.errors import UserError
from rules.states import SessionStatus
from services.changes import cancel_session, change_series, change_session
from services.followups import add_material, plan_followup, save_protocol
from services.leaving import Leaving, LeavingOutcome, leave, withdraw
from services.participants import participant_list
from services.registration import EnrolmentOutcome, register, register_series
from services.series import create_series
from services.sessions import add_session, new_session
from storage import sessions
from storage.models import Series
from storage.rows import save
from tests.unit.fakes import NOW, FakeRooms, acting_for, configured, dispatcher_for

BIELEFELD, PADERBORN, OWN, DIRECT = "!bi:localhost", "!pb:localhost", "!own:localhost", "!dm:localhost"
ANNA = "@anna:localhost"  # a coordinator from the config
PAUL = "@paul:localhost"  # power level 100 in the Paderborn room only
BIRGIT = "@birgit:localhost"  # power level 100 in the Bielefeld room only
STAFF, CLARA = "@staff:localhost", "@clara:localhost"
DAY = (NOW + timedelta(days=5)).astimezone().strftime("%d.%m.%Y")
WEEK_LATER = (NOW + timedelta(days=12)).astimezone().strftime("%d.%m.%Y")


@pytest.fixture
async def core(tmp_path, migrated_url):
    config, db = await configured(tmp_path, ANNA, migrated_url, rooms={BIELEFELD: "Bielefeld", PADERBORN: "Paderborn"})
    rooms = FakeRooms()
    rooms.levels.update({(PADERBORN, PAUL): 100, (BIELEFELD, BIRGIT): 100, (OWN, STAFF): 100})

    def acting(sender: str, room_id: str = "") -> Acting:
        """`sender` acting from `room_id` ("": a web form)."""
        return acting_for(config, sender, room_id, rooms)

    yield db, acting, rooms
    await db.close()


async def refusal(db, call) -> str:
    """The catalogue key the use case refuses with (its work rolled back)."""
    with pytest.raises(UserError) as refused:
        async with db.transaction() as s:
            await call(s)
    return refused.value.key


async def created(db, act, fields: str, room_id: str) -> int:
    async with db.transaction() as s:
        return (await new_session(act, s, fields, room_id)).number


async def test_raum_naming_another_regions_room_is_refused_without_the_role_there(core):
    db, acting, _rooms = core
    fields = f"Wärmeplanung | {DAY} 14:00 | Raum: {BIELEFELD}"
    series = f"Reihe | {DAY}, {WEEK_LATER} 14 Uhr | Raum: {BIELEFELD}"
    for room_id in (PADERBORN, BIELEFELD, DIRECT, ""):  # his own region's room, theirs, a chat, a form
        act = acting(PAUL, room_id)
        # As `!termin neu` there, and as planning a Paderborn wish (announced in its room by default).
        for default in (room_id, PADERBORN):
            key = await refusal(db, lambda s, act=act, default=default: new_session(act, s, fields, default))
            assert key == "errors.role_required_in_room", room_id
        key = await refusal(db, lambda s, act=act, room_id=room_id: create_series(act, s, series, room_id))
        assert key == "errors.role_required_in_room", room_id
    async with db.transaction() as s:
        assert await sessions.get_session(s, 1) is None


async def test_a_coordinator_announces_where_he_coordinates_and_a_config_coordinator_anywhere(core):
    db, acting, rooms = core
    fields = f"Wärmeplanung | {DAY} 14:00"
    number = await created(db, acting(PAUL, PADERBORN), f"{fields} | Raum: {PADERBORN}", PADERBORN)
    web = await created(db, acting(PAUL), fields, PADERBORN)  # a form names the room it announces in
    by_anna = await created(db, acting(ANNA, DIRECT), f"{fields} | Raum: {BIELEFELD}", DIRECT)
    async with db.transaction() as s:
        announced_in = [(await sessions.find_session(s, n)).room_id for n in (number, web, by_anna)]
    assert announced_in == [PADERBORN, PADERBORN, BIELEFELD]
    elsewhere = f"{fields} | Raum: {PADERBORN}"
    key = await refusal(db, lambda s: new_session(acting(BIRGIT, BIELEFELD), s, elsewhere, BIELEFELD))
    assert key == "errors.role_required_in_room"
    # Power in both regions' rooms is no licence to name the other one: that stays with the config.
    rooms.levels[(PADERBORN, BIRGIT)] = 100
    key = await refusal(db, lambda s: new_session(acting(BIRGIT, BIELEFELD), s, elsewhere, BIELEFELD))
    assert key == "coordination.not_official"
    assert await created(db, acting(BIRGIT, PADERBORN), elsewhere, PADERBORN)
    assert await refusal(db, lambda s: new_session(acting(PAUL), s, fields, OWN)) == "coordination.not_official"


async def test_planning_another_regions_wish_into_this_room_is_refused(tmp_path, migrated_url):
    """The hole of issue 24: a wish of Paderborn planned from the Bielefeld room with `Raum:` naming
    that room was checked only in the wish's room."""
    config, db = await configured(tmp_path, ANNA, migrated_url, rooms={BIELEFELD: "Bielefeld", PADERBORN: "Paderborn"})
    rooms = FakeRooms()
    rooms.levels[(PADERBORN, PAUL)] = 100
    dispatcher = dispatcher_for(config, db, rooms=rooms)
    count = iter(range(100))

    async def say(room: str, sender: str, body: str) -> str:
        number = next(count)
        await dispatcher.handle(
            Incoming(room, sender, f"$e{number}", body, sent_at=NOW + timedelta(minutes=number)), NOW
        )
        return dispatcher.outbox.bodies()[-1]

    assert "T1" in await say(PADERBORN, STAFF, "!thema Starkregen | Gefahrenkarten lesen")
    plan = f"!thema T1 planen | {DAY} 14:00 | Raum: {BIELEFELD}"
    assert "in dem Raum, den Sie genannt haben" in await say(BIELEFELD, PAUL, plan)
    assert "in dem Raum, den Sie genannt haben" in await say(PADERBORN, PAUL, plan)
    assert "angelegt" in await say(BIELEFELD, ANNA, plan)
    async with db.transaction() as s:
        assert (await sessions.find_session(s, 1)).room_id == BIELEFELD
    await db.close()


async def test_changes_lists_and_followups_need_the_role_in_the_sessions_room(core):
    db, acting, _rooms = core
    number = await created(db, acting(BIRGIT, BIELEFELD), f"Vergaberecht | {DAY} 10:00", BIELEFELD)
    async with db.transaction() as s:
        await create_series(acting(BIRGIT, BIELEFELD), s, f"Reihe | {DAY}, {WEEK_LATER} 14 Uhr", BIELEFELD)
    calls = {
        "change": lambda act: lambda s: change_session(act, s, number, "Plätze: 5"),
        "change series": lambda act: lambda s: change_series(act, s, 1, "Plätze: 5"),
        "participants": lambda act: lambda s: participant_list(act, s, number),
        "protocol": lambda act: lambda s: save_protocol(act, s, number, "https://example.org/p.pdf"),
        "material": lambda act: lambda s: add_material(act, s, number, "https://example.org/f.pdf", ""),
        "follow-up": lambda act: lambda s: plan_followup(act, s, number, "Danke!"),
        "cancel": lambda act: lambda s: cancel_session(act, s, number, ""),
    }
    for name, call in calls.items():
        for act in (acting(PAUL), acting(PAUL, PADERBORN), acting(STAFF, OWN), acting(STAFF, BIELEFELD)):
            assert await refusal(db, call(act)) == "errors.role_required_for_session", (name, act.sender, act.room_id)
    for call in calls.values():  # the coordinator of the session's room may, from a form too
        async with db.transaction() as s:
            await call(acting(BIRGIT))(s)
    async with db.transaction() as s:
        session, part = await sessions.find_session(s, number), await sessions.find_session(s, 2)
    assert (session.capacity, part.capacity, session.status) == (5, 5, SessionStatus.CANCELLED)
    assert session.protocol_url == "https://example.org/p.pdf"


async def test_the_participant_list_goes_to_the_coordinators_direct_chat(core):
    db, acting, _rooms = core
    number = await created(db, acting(ANNA, BIELEFELD), f"Vergaberecht | {DAY} 10:00", BIELEFELD)
    async with db.transaction() as s:
        await register(acting(CLARA), s, number, "Verl")
    act = acting(BIRGIT)
    async with db.transaction() as s:
        counts = await participant_list(act, s, number)
    assert (counts.registered, counts.waiting, counts.municipalities) == (1, 0, 1)
    (message, _ttl), *more = act.messages
    assert not more and message.user_id == BIRGIT and message.room_id is None
    assert message.attachment is not None and CLARA.encode() in message.attachment


async def test_the_participant_list_names_people_on_one_line(core):
    db, acting, _rooms = core
    number = await created(db, acting(ANNA, BIELEFELD), f"Vergaberecht | {DAY} 10:00", BIELEFELD)
    async with db.transaction() as s:
        await register(acting(CLARA), s, number, "Verl")
    act = acting(BIRGIT)
    act.rooms.display_name = lambda room_id, user_id: "Clara\nKlein;=1+1"  # type: ignore[method-assign]
    async with db.transaction() as s:
        await participant_list(act, s, number)
    (message, _ttl), *_ = act.messages
    _header, (name, user_id, *_), *more = csv.reader(io.StringIO(message.attachment.decode("utf-8-sig")), delimiter=";")
    assert (name, user_id, more) == ("Clara Klein;=1+1", f"'{CLARA}", [])  # an id starts like a formula


async def test_registering_and_leaving_from_a_form(core):
    db, acting, _rooms = core
    number = await created(db, acting(ANNA, BIELEFELD), f"Vergaberecht | {DAY} 10:00 | Plätze: 1", BIELEFELD)
    outcomes = []
    for person in (STAFF, STAFF, CLARA, CLARA):
        async with db.transaction() as s:
            registered = await register(acting(person), s, number, "")
        outcomes.append((registered.enrolment.outcome, registered.enrolment.position, registered.privacy_notice))
    assert outcomes == [
        (EnrolmentOutcome.CONFIRMED, None, True),
        (EnrolmentOutcome.ALREADY_REGISTERED, None, False),
        (EnrolmentOutcome.WAITLISTED, 1, True),
        (EnrolmentOutcome.ALREADY_WAITING, 1, False),
    ]
    act = acting(STAFF)
    async with db.transaction() as s:
        left = await leave(act, s, None)  # the one session ahead the person is registered for
    assert left.outcome == LeavingOutcome.CANCELLED and left.promoted == [CLARA]
    assert [m.user_id for m, _ in act.messages] == [CLARA]  # told privately that a place is hers
    assert await refusal(db, lambda s: leave(acting(STAFF), s, number)) == "registration.not_registered"


async def test_a_session_or_series_outside_an_official_room_does_not_exist_for_anyone(core):
    db, acting, _rooms = core
    async with db.transaction() as s:  # as a room that was official once, and is no more, left them
        start = NOW + timedelta(days=5)
        values = {"title": "Gefälscht", "starts_at": start, "ends_at": start + timedelta(hours=1)}
        planted = (await add_session(acting(STAFF, OWN), s, values, OWN)).number
        await save(s, Series(title="Gefälscht", room_id=OWN, created_at=NOW))
    for act in (acting(STAFF), acting(STAFF, OWN)):
        assert await refusal(db, lambda s, act=act: register(act, s, planted, "")) == "errors.unknown_session"
        assert await refusal(db, lambda s, act=act: leave(act, s, planted)) == "errors.unknown_session"
        assert await refusal(db, lambda s, act=act: register_series(act, s, 1, "")) == "series.unknown"


async def test_a_reaction_registers_and_only_its_own_sender_withdraws_by_taking_it_back(core):
    db, acting, _rooms = core
    deadline = (NOW + timedelta(hours=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    await created(db, acting(ANNA, BIELEFELD), f"Vergaberecht | {DAY} 10:00", BIELEFELD)
    await created(db, acting(ANNA, BIELEFELD), f"Spät | {DAY} 12:00 | Anmeldeschluss: {deadline}", BIELEFELD)
    async with db.transaction() as s:
        registered = await register(acting(CLARA, BIELEFELD), s, 1, "", reaction="$tick")
    assert registered.enrolment.outcome == EnrolmentOutcome.CONFIRMED
    async with db.transaction() as s:
        assert await withdraw(acting(STAFF, BIELEFELD), s, "$tick") is None  # a moderator's redaction
        left = await withdraw(acting(CLARA, BIELEFELD), s, "$tick")
    assert isinstance(left, Leaving) and left.outcome == LeavingOutcome.CANCELLED
    later = acting(CLARA)
    later.now = NOW + timedelta(hours=4)
    assert await refusal(db, lambda s: register(later, s, 2, "")) == "registration.deadline_passed"
