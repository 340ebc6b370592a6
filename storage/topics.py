"""Topic wishes, their 👍 votes and the offers to give the input talk."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import TalkOffer, Topic, TopicStatus, TopicVote
from storage.rows import add_once, delete, save
from storage.sessions import Scope


@dataclass(frozen=True)
class TopicVotes:
    """A wish with the number of votes it has."""

    topic: Topic
    votes: int


async def add_topic(s: AsyncSession, topic: Topic) -> Topic:
    return await save(s, topic)


async def topic_by_number(s: AsyncSession, number: int) -> Topic | None:
    return await s.get(Topic, number)


async def topic_by_event(s: AsyncSession, event_id: str) -> Topic | None:
    """The wish whose post is `event_id` (the message people vote on)."""
    return (await s.exec(select(Topic).where(Topic.event_id == event_id))).first()


async def open_topics(s: AsyncSession, scope: Scope) -> list[TopicVotes]:
    """Open wishes of the scope's rooms (and region), most votes first, then the older first."""
    votes = func.count(col(TopicVote.id))
    query = (
        select(Topic, votes)
        .outerjoin(TopicVote, col(TopicVote.topic_id) == col(Topic.id))
        .where(Topic.status == TopicStatus.OPEN, col(Topic.room_id).in_(scope.rooms))
        .group_by(col(Topic.id))
        .order_by(votes.desc(), col(Topic.id))
    )
    if scope.region is not None:
        query = query.where(or_(col(Topic.region).is_(None), col(Topic.region).contains(scope.region)))
    return [TopicVotes(row[0], row[1]) for row in (await s.exec(query)).all()]


async def open_count_of(s: AsyncSession, user_id: str) -> int:
    """How many open wishes `user_id` proposed."""
    query = select(func.count(col(Topic.id))).where(Topic.proposed_by == user_id, Topic.status == TopicStatus.OPEN)
    return int((await s.exec(query)).one())


async def vote_count(s: AsyncSession, topic_id: int) -> int:
    query = select(func.count(col(TopicVote.id))).where(TopicVote.topic_id == topic_id)
    return int((await s.exec(query)).one())


async def count_vote(s: AsyncSession, topic: Topic, vote: TopicVote) -> bool:
    """Count a 👍 on an open wish, once per person (the proposer's own too); True when it counted."""
    if topic.status != TopicStatus.OPEN:
        return False
    return await add_once(s, vote, TopicVote.topic_id == vote.topic_id, TopicVote.user_id == vote.user_id)


async def vote_by_reaction(s: AsyncSession, reaction_event_id: str) -> TopicVote | None:
    return (await s.exec(select(TopicVote).where(TopicVote.reaction_event_id == reaction_event_id))).first()


async def vote_of(s: AsyncSession, topic_id: int, user_id: str) -> TopicVote | None:
    """The vote `user_id` gave wish `topic_id`, if any."""
    query = select(TopicVote).where(TopicVote.topic_id == topic_id, TopicVote.user_id == user_id)
    return (await s.exec(query)).first()


async def withdraw_vote(s: AsyncSession, vote: TopicVote) -> bool:
    """Take back a vote whose reaction was removed, while the wish is open; True when it was."""
    topic = await s.get(Topic, vote.topic_id)
    if topic is None or topic.status != TopicStatus.OPEN:
        return False
    await delete(s, vote)
    return True


async def voters(s: AsyncSession, topic_id: int) -> list[str]:
    """Who voted for a wish, in the order they did (a vote past the retention period names no one)."""
    query = select(TopicVote.user_id).where(TopicVote.topic_id == topic_id).order_by(col(TopicVote.voted_at))
    return [user_id for user_id in (await s.exec(query)).all() if user_id is not None]


async def offer_talk(s: AsyncSession, offer: TalkOffer) -> bool:
    """Note an offer to give the input talk; False when this person had offered already."""
    return await add_once(s, offer, TalkOffer.topic_id == offer.topic_id, TalkOffer.user_id == offer.user_id)


async def speakers(s: AsyncSession, topic_ids: list[int]) -> dict[int, list[str]]:
    """Who offered to give the input talk, by wish."""
    query = select(TalkOffer).where(col(TalkOffer.topic_id).in_(topic_ids)).order_by(col(TalkOffer.offered_at))
    found: dict[int, list[str]] = {}
    for offer in (await s.exec(query)).all():
        found.setdefault(offer.topic_id, []).append(offer.user_id)
    return found
