"""The use cases of topic wishes, Q&A, feedback and polls called directly (as the web face will call
them), on a real migrated database: each decides the sender's role in the room concerned and
whether that room is official itself, and refuses with a catalogue key — no face can skip that.
Also the caps per person (open wishes, questions per round)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from bot.acting import Acting
from bot.config import Config
from rules.errors import UserError
from rules.feedback import Answer
from rules.i18n import t
from rules.states import QuestionStatus, RegistrationStatus, TopicStatus
from rules.topics import new_proposal
from services import feedback, polls, qa, topics
from storage.db import Database
from storage.models import PlannedMessage, Registration, Session, Topic
from storage.rows import save
from tests.unit.fakes import COORDINATOR, NOW, FakeRooms, acting_for, configured

ROOM = "!room:localhost"  # official (Bielefeld)
OWN = "!own:localhost"  # a room someone made, where they hold all power
DM = "!dm-bernd"  # a direct chat (two members)
WEB = ""  # a request from the web: no room
BERND, CLARA, OWNER, MODERATOR = "@bernd:localhost", "@clara:localhost", "@owner:localhost", "@mod:localhost"


@dataclass
class World:
    config: Config
    db: Database
    levels: FakeRooms

    def acting(self, sender: str, room_id: str = WEB, now: datetime = NOW) -> Acting:
        """`sender` acting from `room_id` at `now`."""
        return acting_for(self.config, sender, room_id, self.levels, now)


@pytest.fixture
async def world(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url, rooms={ROOM: "Bielefeld"})
    levels = FakeRooms()
    levels.levels.update({(OWN, OWNER): 100, (ROOM, MODERATOR): 50})
    yield World(config, db, levels)
    await db.close()


@contextmanager
def refused(key: str) -> Iterator[pytest.ExceptionInfo[UserError]]:
    """The use case must refuse with the catalogue entry `key`."""
    with pytest.raises(UserError) as info:
        yield info
    assert info.value.key == key, info.value.key


async def add_session(db: Database, room_id: str = ROOM, starts_in: timedelta = timedelta(days=1)) -> Session:
    start = NOW + starts_in
    async with db.transaction() as s:
        return await save(
            s,
            Session(
                title="Vergabe",
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                room_id=room_id,
                created_by=COORDINATOR,
                created_at=NOW,
            ),
        )


async def test_a_wish_is_proposed_only_into_an_official_room_and_capped_per_person(world):
    async with world.db.transaction() as s:
        with refused("topics.not_official"):
            await topics.propose(world.acting(OWNER, OWN), s, new_proposal("Mobiles Arbeiten", None))
        with refused("topics.not_official"):  # from the web, a room must be named
            await topics.propose(world.acting(BERND), s, new_proposal("Mobiles Arbeiten", None))
        act = world.acting(BERND)
        proposed = await topics.propose(act, s, new_proposal("Mobiles Arbeiten", "Dienst\nvereinbarungen"), ROOM)
        assert isinstance(proposed, topics.Proposed) and proposed.wish.room_id == ROOM
        assert [m.room_id for m, _ in act.messages] == [ROOM]  # the post people vote on
        alike = await topics.propose(world.acting(CLARA), s, new_proposal("Mobile Arbeit", None), ROOM)
        assert isinstance(alike, topics.LookAlikes) and alike.alike[0].topic.title == "Mobiles Arbeiten"
        for n in range(2, topics.MAX_OPEN_WISHES + 1):
            assert isinstance(
                await topics.propose(act, s, new_proposal(f"Thema {n}", None, True), ROOM), topics.Proposed
            )
        with refused("topics.too_many_open") as cap:
            await topics.propose(act, s, new_proposal("Noch eins", None, True), ROOM)
        assert "schon 5 offene Themenwünsche" in t(cap.value.key, "de", **cap.value.params).plain
        await topics.close(world.acting(COORDINATOR), s, 1, "erledigt")
        assert isinstance(await topics.propose(act, s, new_proposal("Noch eins", None, True), ROOM), topics.Proposed)


async def test_votes_count_once_only_on_open_wishes_of_official_rooms(world):
    async with world.db.transaction() as s:
        await topics.propose(world.acting(BERND, ROOM), s, new_proposal("Mobiles Arbeiten", None))
        gone = await save(s, Topic(title="Alt", room_id=OWN, proposed_by=OWNER, proposed_at=NOW))
        assert await topics.vote(world.acting(CLARA), s, 1) == topics.Voted.COUNTED
        assert await topics.vote(world.acting(CLARA), s, 1, reaction="$other") == topics.Voted.BEFORE
        with refused("topics.unknown"):
            await topics.vote(world.acting(OWNER, OWN), s, gone.id)
        assert (await topics.show(world.acting(BERND), s, 1)).votes == 1
        assert await topics.withdraw_vote(world.acting(CLARA), s, 1)
        assert not await topics.withdraw_vote(world.acting(CLARA), s, 1)
        await topics.close(world.acting(COORDINATOR), s, 1, None)
        assert await topics.vote(world.acting(CLARA), s, 1) == topics.Voted.SETTLED


async def test_planning_and_closing_a_wish_take_a_coordinator_of_its_room(world):
    day = (NOW + timedelta(days=10)).astimezone(world.config.timezone)
    fields = f"{day:%d.%m.%Y} 14–16 Uhr"
    async with world.db.transaction() as s:
        await topics.propose(world.acting(BERND, ROOM), s, new_proposal("Mobiles Arbeiten", None))
        await topics.vote(world.acting(CLARA), s, 1)
        for person, room in ((OWNER, OWN), (BERND, ROOM), (MODERATOR, ROOM), (OWNER, WEB)):
            with refused("topics.coordinators_only"):
                await topics.plan(world.acting(person, room), s, 1, fields)
            with refused("topics.coordinators_only"):
                await topics.close(world.acting(person, room), s, 1, None)
        offered = world.acting(CLARA)
        assert (await topics.offer(offered, s, 1)).new
        assert [m.user_id for m, _ in offered.messages] == [COORDINATOR]  # told privately
        act = world.acting(COORDINATOR)
        planned = await topics.plan(act, s, 1, fields)
        assert planned.wish.status == TopicStatus.PLANNED and planned.told == 2
        assert sorted(m.user_id for m, _ in act.messages if m.user_id) == [BERND, CLARA]
        with refused("topics.already_planned"):
            await topics.offer(world.acting(CLARA), s, 1)
        ranking = await topics.ranking(world.acting(BERND, ROOM), s)
        assert ranking.ranked == [] and ranking.speakers is None


async def test_talk_offers_are_named_only_to_a_coordinator(world):
    async with world.db.transaction() as s:
        await topics.propose(world.acting(BERND, ROOM), s, new_proposal("Mobiles Arbeiten", None))
        await topics.offer(world.acting(CLARA), s, 1)
        assert (await topics.ranking(world.acting(BERND, ROOM), s)).speakers is None
        assert (await topics.ranking(world.acting(OWNER, OWN), s)).speakers is None
        named = await topics.ranking(world.acting(COORDINATOR, ROOM), s)
        assert named.offers == {1: 1} and [(w.id, p) for w, p in named.speakers or []] == [(1, CLARA)]


async def test_feedback_is_given_privately_by_those_registered_after_an_official_session(world):
    session = await add_session(world.db, starts_in=-timedelta(hours=3))
    elsewhere = await add_session(world.db, room_id=OWN, starts_in=-timedelta(hours=3))
    upcoming = await add_session(world.db)
    async with world.db.transaction() as s:
        for number in (session.id, elsewhere.id, upcoming.id):
            await save(
                s,
                Registration(
                    session_id=number,
                    user_id=BERND,
                    status=RegistrationStatus.REGISTERED,
                    queued_at=NOW,
                    updated_at=NOW,
                ),
            )
        answer = Answer(4, "Gute Beispiele")
        with refused("feedback.only_direct"):  # a shared room: everyone would see who said what
            await feedback.give_feedback(world.acting(BERND, ROOM), s, session.id, answer)
        with refused("errors.unknown_session"):
            await feedback.give_feedback(world.acting(BERND, DM), s, elsewhere.id, answer)
        with refused("feedback.not_yet"):
            await feedback.give_feedback(world.acting(BERND, DM), s, upcoming.id, answer)
        with refused("feedback.not_registered"):
            await feedback.give_feedback(world.acting(CLARA), s, session.id, answer)
        assert (await feedback.give_feedback(world.acting(BERND), s, session.id, answer)).id == session.id
        question = PlannedMessage(kind="feedback_dm", key="q", session_id=session.id, user_id=BERND, due_at=NOW)
        assert await feedback.answer_question(world.acting(CLARA, DM), s, question, answer) is None  # not hers
        with refused("feedback.not_registered"):
            await feedback.ask_again(world.acting(CLARA, DM), s, session.id)


async def test_the_evaluation_takes_a_coordinator_of_the_sessions_room(world):
    session = await add_session(world.db, starts_in=-timedelta(hours=3))
    async with world.db.transaction() as s:
        for person, room in ((BERND, ROOM), (OWNER, OWN), (MODERATOR, ROOM)):
            with refused("errors.role_required_for_session"):
                await feedback.evaluate(world.acting(person, room), s, session.id)
        found = await feedback.evaluate(world.acting(COORDINATOR, WEB), s, session.id)
        assert (found.answers, found.totals, found.sentences, found.pending) == (0, None, [], 0)


async def test_questions_anonymous_only_privately_capped_per_round_and_votes(world):
    session = await add_session(world.db)
    elsewhere = await add_session(world.db, room_id=OWN)
    async with world.db.transaction() as s:
        with refused("qa.anonymous_only_direct"):
            await qa.ask(world.acting(BERND, ROOM), s, session.id, "Wie lange?", anonymous=True)
        with refused("errors.unknown_session"):
            await qa.ask(world.acting(OWNER, OWN), s, elsewhere.id, "Wie lange?")
        asked = await qa.ask(world.acting(BERND, DM), s, session.id, "Wie\nlange?", anonymous=True)
        assert (asked.number, asked.live) == (1, False)
        for n in range(2, qa.MAX_QUESTIONS + 1):
            await qa.ask(world.acting(BERND), s, session.id, f"Frage {n}")
        with refused("qa.too_many") as cap:
            await qa.ask(world.acting(BERND), s, session.id, "Noch eine")
        assert "schon 10 Fragen" in t(cap.value.key, "de", **cap.value.params).plain
        await qa.ask(world.acting(CLARA), s, session.id, "Und die Kosten?")  # others still may
        assert not await qa.vote(world.acting(CLARA), s, session.id, 1)  # no round open yet
        with refused("qa.unknown_question"):
            await qa.vote(world.acting(CLARA), s, session.id, 99)
        with refused("qa.session_over"):
            await qa.ask(world.acting(CLARA, now=NOW + timedelta(days=2)), s, session.id, "Zu spät")


async def test_rounds_moderation_and_polls_take_the_role_in_the_sessions_room(world):
    running = await add_session(world.db, starts_in=timedelta(minutes=10))
    async with world.db.transaction() as s:
        for person, room in ((BERND, ROOM), (OWNER, OWN), (OWNER, WEB)):
            with refused("errors.role_required_for_session"):
                await qa.start_round(world.acting(person, room), s, running.id)
            with refused("errors.role_required_for_session"):
                await polls.start_poll(world.acting(person, room), s, running.id)
        question = await qa.ask(world.acting(BERND, DM), s, running.id, "Wie lange?")
        started = await qa.start_round(world.acting(MODERATOR, ROOM), s, running.id)
        assert started.waiting == 1
        with refused("errors.role_required_for_session"):
            await qa.moderate(world.acting(BERND, ROOM), s, question.number, QuestionStatus.ANSWERED)
        act = world.acting(MODERATOR, ROOM)
        done = await qa.moderate(act, s, question.number, QuestionStatus.ANSWERED)
        assert done.question.status == QuestionStatus.ANSWERED
        assert [m.user_id for m, _ in act.messages] == [BERND]  # the asker is told privately
        with refused("polls.none_running"):
            await polls.end_poll(world.acting(COORDINATOR, WEB), s, running.id)
        assert (await polls.start_poll(world.acting(COORDINATOR, WEB), s, running.id)).id == running.id
