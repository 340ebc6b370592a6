"""Everything stored about one person, read for `!meine-daten` (what each part is, and how it is
deleted and purged: `storage.inventory`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import feedback
from storage.feedback import KeyOf
from storage.models import (
    BoardContact,
    BoardEntry,
    CalendarToken,
    DirectRoom,
    FeedbackAnswer,
    Material,
    OutboxMessage,
    OutboxStatus,
    PersonMunicipality,
    PersonSettings,
    PlannedMessage,
    Poll,
    QaRound,
    Question,
    Registration,
    RoomInvitation,
    Session,
    TalkOffer,
    Topic,
    TopicVote,
    Vote,
    WebSession,
)
from storage.rows import Row


@dataclass(frozen=True)
class PersonData:
    """Everything stored about one person."""

    settings: PersonSettings | None
    registrations: list[tuple[Registration, Session]]
    sessions_created: list[Session]
    materials_added: list[Material]
    direct_messages: list[PlannedMessage]
    questions: list[Question]
    votes: list[tuple[Vote, Question]]
    rounds_opened: list[QaRound]
    pending_messages: list[OutboxMessage]
    direct_room: DirectRoom | None = None
    topics_proposed: list[Topic] = field(default_factory=list)
    topic_votes: list[tuple[TopicVote, Topic]] = field(default_factory=list)
    talk_offers: list[tuple[TalkOffer, Topic]] = field(default_factory=list)
    feedback: list[FeedbackAnswer] = field(default_factory=list)
    polls_opened: list[Poll] = field(default_factory=list)
    board_entries: list[BoardEntry] = field(default_factory=list)
    board_contacts: list[tuple[BoardContact, BoardEntry]] = field(default_factory=list)
    municipality: PersonMunicipality | None = None
    calendar_token: CalendarToken | None = None
    rooms_invited: list[RoomInvitation] = field(default_factory=list)
    web_sessions: list[WebSession] = field(default_factory=list)


async def person_data(s: AsyncSession, user_id: str, key_of: KeyOf | None = None) -> PersonData:
    """Everything stored about a person; their feedback answers only with `key_of` (their keyed
    hash for a session id), since nothing else links an answer to them."""
    registrations = await s.exec(
        select(Registration, Session)
        .join(Session, col(Session.id) == col(Registration.session_id))
        .where(Registration.user_id == user_id)
        .order_by(col(Session.starts_at))
    )
    created = await s.exec(select(Session).where(Session.created_by == user_id).order_by(col(Session.id)))
    added = await s.exec(select(Material).where(Material.added_by == user_id).order_by(col(Material.id)))
    direct = await s.exec(
        select(PlannedMessage).where(PlannedMessage.user_id == user_id).order_by(col(PlannedMessage.due_at))
    )
    asked = await s.exec(select(Question).where(Question.author == user_id).order_by(col(Question.asked_at)))
    votes = await s.exec(
        select(Vote, Question)
        .join(Question, col(Question.id) == col(Vote.question_id))
        .where(Vote.user_id == user_id)
        .order_by(col(Vote.voted_at))
    )
    opened = await s.exec(select(QaRound).where(QaRound.opened_by == user_id).order_by(col(QaRound.opened_at)))
    pending = await s.exec(
        select(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(col(OutboxMessage.id))
    )
    entries = await s.exec(select(BoardEntry).where(BoardEntry.author == user_id).order_by(col(BoardEntry.id)))
    contacts = await s.exec(
        select(BoardContact, BoardEntry)
        .join(BoardEntry, col(BoardEntry.id) == col(BoardContact.entry_id))
        .where(BoardContact.asked_by == user_id)
        .order_by(col(BoardContact.id))
    )
    invited = await s.exec(
        select(RoomInvitation).where(RoomInvitation.inviter == user_id).order_by(col(RoomInvitation.joined_at))
    )
    return PersonData(
        await s.get(PersonSettings, user_id),
        [(r, x) for r, x in registrations.all()],
        list(created.all()),
        list(added.all()),
        list(direct.all()),
        list(asked.all()),
        [(v, q) for v, q in votes.all()],
        list(opened.all()),
        list(pending.all()),
        await s.get(DirectRoom, user_id),
        list((await s.exec(select(Topic).where(Topic.proposed_by == user_id).order_by(col(Topic.id)))).all()),
        await _with_topics(s, TopicVote, user_id),
        await _with_topics(s, TalkOffer, user_id),
        await feedback.own_answers(s, key_of) if key_of else [],
        list((await s.exec(select(Poll).where(Poll.opened_by == user_id).order_by(col(Poll.id)))).all()),
        list(entries.all()),
        [(c, e) for c, e in contacts.all()],
        await s.get(PersonMunicipality, user_id),
        await s.get(CalendarToken, user_id),
        list(invited.all()),
        list((await s.exec(select(WebSession).where(WebSession.user_id == user_id))).all()),
    )


async def _with_topics(s: AsyncSession, model: type[Row], user_id: str) -> list[tuple[Row, Topic]]:
    """A person's rows of a table about topic wishes (votes, talk offers), each with its wish."""
    query = (
        select(model, Topic)
        .join(Topic, col(Topic.id) == model.topic_id)  # type: ignore[attr-defined]
        .where(model.user_id == user_id)  # type: ignore[attr-defined]
        .order_by(col(model.id))  # type: ignore[attr-defined]
    )
    return [(row, topic) for row, topic in (await s.exec(query)).all()]
