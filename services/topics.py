"""Topic wishes: proposing one in an official room (pointed to look-alikes first), voting for it,
offering to give its input talk, the ranking, and a coordinator turning a wish into a session
(its voters are told by direct message) or closing it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, Acting
from bot.roles import Role
from rules.cleaning import person_name
from rules.errors import UserError
from rules.i18n import Message
from rules.rendering.content import edit_content, message_content
from rules.sessions import about, ref
from rules.similarity import Candidate, look_alikes
from rules.states import TopicStatus
from rules.topics import Proposal, topic_ref, wish_post
from services.sessions import new_session
from storage import people, topics
from storage.models import Session, TalkOffer, Topic, TopicVote
from storage.outbox import Outgoing
from storage.rows import row_id, save
from storage.topics import TopicVotes

MAX_LISTED = 50
MAX_OPEN_WISHES = 5  # open wishes one person may have proposed at a time


@dataclass(frozen=True)
class Proposed:
    """The wish was saved and its post queued."""

    wish: Topic


@dataclass(frozen=True)
class LookAlikes:
    """Nothing saved: open wishes look like the one proposed (`!thema trotzdem …` insists)."""

    title: str
    alike: list[TopicVotes]


@dataclass(frozen=True)
class WishState:
    """A wish with its votes and how many offered to give its input talk."""

    wish: Topic
    votes: int
    offers: int


@dataclass(frozen=True)
class Offered:
    wish: Topic
    new: bool  # False: this person had offered before


@dataclass(frozen=True)
class Planned:
    wish: Topic
    session: Session
    told: int  # voters and proposer told privately


@dataclass(frozen=True)
class Ranking:
    """The open wishes by votes with how many offered to talk on each; `speakers` names them
    (wish, shown name), only for a coordinator (None for everyone else)."""

    ranked: list[TopicVotes]
    offers: dict[int, int]
    speakers: list[tuple[Topic, str]] | None


class Voted(StrEnum):
    COUNTED = "counted"
    BEFORE = "before"  # this person had voted for it already
    SETTLED = "settled"  # planned or closed: votes no longer count


async def propose(
    act: Acting, s: AsyncSession, proposal: Proposal, room_id: str | None = None
) -> Proposed | LookAlikes:
    """Post the wish for voting in the official room `room_id` (where the request came from,
    unless given), unless it looks like an open one (then point there first)."""
    room_id = room_id or act.room_id
    if not act.official.is_official(room_id):
        raise UserError("topics.not_official")
    if await topics.open_count_of(s, act.sender) >= MAX_OPEN_WISHES:
        raise UserError("topics.too_many_open", maximum=MAX_OPEN_WISHES)
    if not proposal.insist:
        existing = {row_id(x.topic): x for x in await topics.open_topics(s, act.scope())}
        alike = look_alikes(proposal.title, [Candidate(n, x.topic.title) for n, x in existing.items()])
        if alike:
            return LookAlikes(proposal.title, [existing[c.number] for c in alike])
    wish = await topics.add_topic(
        s,
        Topic(
            title=proposal.title,
            description=proposal.description,
            room_id=room_id,
            region=act.official.region(room_id),
            proposed_by=act.sender,
            proposed_at=act.now,
        ),
    )
    footer = act.t("topics.post_howto", ref=topic_ref(wish.id))
    act.post(room_id, wish_post(act, wish.id, wish.title, wish.description, footer), records=f"topic:{wish.id}")
    return Proposed(wish)


async def find_topic(act: Acting, s: AsyncSession, number: int) -> Topic:
    """Wish T<number>, if it was proposed in a room the bot serves officially."""
    wish = await topics.topic_by_number(s, number)
    if wish is None or not act.official.is_official(wish.room_id):
        raise UserError("topics.unknown", ref=topic_ref(number))
    return wish


def require_coordinator(act: Acting, wish: Topic) -> None:
    """Refuse unless the sender coordinates in the room the wish was proposed in."""
    if act.roles.in_room(wish.room_id, act.sender) < Role.COORDINATOR:
        raise UserError("topics.coordinators_only", ref=topic_ref(wish.id))


def require_open(wish: Topic) -> None:
    if wish.status == TopicStatus.PLANNED:
        raise UserError("topics.already_planned", ref=topic_ref(wish.id), session=ref(wish.session_id))
    if wish.status != TopicStatus.OPEN:
        raise UserError("topics.already_closed", ref=topic_ref(wish.id))


async def show(act: Acting, s: AsyncSession, number: int) -> WishState:
    wish = await find_topic(act, s, number)
    offers = len((await topics.speakers(s, [number])).get(number, []))
    return WishState(wish, await topics.vote_count(s, number), offers)


async def vote(act: Acting, s: AsyncSession, number: int, *, reaction: str | None = None) -> Voted:
    """Count the sender's vote for wish T<number> (given by `reaction`, or a form), once per
    person, the proposer's own too."""
    wish = await find_topic(act, s, number)
    if wish.status != TopicStatus.OPEN:
        return Voted.SETTLED
    counted = await topics.count_vote(
        s,
        wish,
        TopicVote(topic_id=number, user_id=act.sender, reaction_event_id=reaction or act.request_id, voted_at=act.now),
    )
    return Voted.COUNTED if counted else Voted.BEFORE


async def withdraw_vote(act: Acting, s: AsyncSession, number: int) -> bool:
    """Take the sender's vote for wish T<number> back while the wish is open; True when it was."""
    wish = await find_topic(act, s, number)
    found = await topics.vote_of(s, row_id(wish), act.sender)
    return found is not None and await topics.withdraw_vote(s, found)


async def offer(act: Acting, s: AsyncSession, number: int) -> Offered:
    """Note that the sender could give the input talk; the coordinators from the config are told
    privately (nobody else sees who offered)."""
    wish = await find_topic(act, s, number)
    require_open(wish)
    new = await topics.offer_talk(s, TalkOffer(topic_id=number, user_id=act.sender, offered_at=act.now))
    if new:
        act.tell_each(
            sorted(act.config.roles.coordinators - {act.sender}),
            "topics.offer_notice",
            person=name_of(act, wish.room_id, act.sender),
            ref=topic_ref(wish.id),
            title=wish.title,
        )
    return Offered(wish, new)


async def plan(act: Acting, s: AsyncSession, number: int, fields: str) -> Planned:
    """Turn a wish into a session (`fields` as for `!termin neu`, the wish's title unless another
    is given); everyone who voted for it or proposed it is told privately how to register."""
    if not fields:
        raise UserError("topics.plan_usage", ref=topic_ref(number))
    wish = await find_topic(act, s, number)
    require_coordinator(act, wish)
    require_open(wish)
    fields = f"Titel: {wish.title}\n{fields}" if "\n" in fields else f"{wish.title} | {fields}"
    session = await new_session(act, s, fields, wish.room_id)
    wish.status, wish.session_id, wish.closed_at = TopicStatus.PLANNED, session.number, act.now
    await save(s, wish)
    settle_post(act, wish, act.t("topics.post_planned", session=ref(session.id)))
    voters = await topics.voters(s, number)
    told = [p for p in dict.fromkeys([*voters, wish.proposed_by]) if p != people.FORGOTTEN]
    act.tell_each(
        told,
        "topics.planned_notice",
        topic=topic_ref(wish.id),
        **about(session),
        when=act.when(session.starts_at, session.ends_at),
    )
    return Planned(wish, session, len(told))


async def close(act: Acting, s: AsyncSession, number: int, reason: str | None) -> Topic:
    wish = await find_topic(act, s, number)
    require_coordinator(act, wish)
    require_open(wish)
    wish.status, wish.close_reason, wish.closed_at = TopicStatus.CLOSED, reason or None, act.now
    await save(s, wish)
    settle_post(act, wish, act.t("topics.post_closed"))
    return wish


def settle_post(act: Acting, wish: Topic, footer: Message) -> None:
    """Edit the wish's post to say it was planned or closed (no more votes count)."""
    if wish.event_id:
        post = wish_post(act, wish.id, wish.title, wish.description, footer)
        content = edit_content(wish.event_id, message_content(post, notice=False))
        act.queue(Outgoing(f"topic-settled:{wish.id}", content, room_id=wish.room_id), NOTICE_TTL)


async def ranking(act: Acting, s: AsyncSession) -> Ranking:
    """The open wishes where the request came from, ranked by votes; a coordinator there also
    gets who offered to talk (names never go to a shared room)."""
    ranked = (await topics.open_topics(s, act.scope()))[:MAX_LISTED]
    offers = await topics.speakers(s, [row_id(x.topic) for x in ranked])
    speakers = None
    if act.role >= Role.COORDINATOR:
        speakers = [
            (x.topic, name_of(act, x.topic.room_id, person))
            for x in ranked
            for person in offers.get(row_id(x.topic), [])
        ]
    return Ranking(ranked, {number: len(names) for number, names in offers.items()}, speakers)


def name_of(act: Acting, room_id: str, user_id: str) -> str:
    """How a person is named for coordinators: display name (on one line) and id."""
    return person_name(act.rooms.display_name(room_id, user_id), user_id, with_id=True)
