"""Database models. Times are stored in UTC and come back as aware UTC datetimes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql import false
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from rules.board import EntryKind, EntryState
from rules.states import OutboxStatus, PlannedStatus, QuestionStatus, RegistrationStatus, SessionStatus, TopicStatus

__all__ = [  # also known here
    "OutboxStatus",
    "PlannedStatus",
    "QuestionStatus",
    "RegistrationStatus",
    "SessionStatus",
    "TopicStatus",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, naive UTC in the database, aware UTC out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# One instance for every column: SQLAlchemy makes a class of its own (its comparator) for each
# instance of a custom type the first time a query uses it, and keeps it.
UTC_DATETIME = UTCDateTime()


def _utc_column(nullable: bool = False) -> Column[datetime]:
    return Column(UTC_DATETIME, nullable=nullable)


Status = TypeVar("Status", bound=StrEnum)


class EnumText(TypeDecorator[Status], Generic[Status]):
    """A StrEnum stored as its text (the columns stay VARCHAR): members in, members out."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[Status], length: int = 16) -> None:
        super().__init__(length=length)
        self.enum = enum

    def process_bind_param(self, value: Status | str | None, dialect: object) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: object) -> Status | None:
        return None if value is None else self.enum(value)


@cache
def _enum_text(enum: type[StrEnum], length: int) -> EnumText[StrEnum]:
    """One type instance per enum and length, shared by its columns (as UTC_DATETIME)."""
    return EnumText(enum, length)


def _enum_column(enum: type[StrEnum], length: int = 16) -> Column[str]:
    return Column(_enum_text(enum, length), nullable=False)


class TableModel(SQLModel):
    """The base of every table model. Pydantic builds a model's validator and serializer only
    when one is first needed (`defer_build`): a table model is constructed without validation and
    read through SQLAlchemy, so most never need either, and the bot does not keep them in memory
    (about 0.6 MB for all tables)."""

    model_config = SQLModelConfig(defer_build=True)


class Series(TableModel, table=True):
    """Sessions planned together (shown to users as `Reihe N`): each part is a session of its own;
    ✅ on the series' announcement (`announcement_event_id`) registers for every part ahead."""

    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    room_id: str
    announcement_event_id: str | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_column=_utc_column())

    @property
    def number(self) -> int:
        """The series' number (shown as Reihe N); it has one once saved."""
        if self.id is None:
            raise ValueError("the series has not been saved yet")
        return self.id


class Session(TableModel, table=True):
    """One event of the series (shown to users as #id)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_starts_at", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str
    starts_at: datetime = Field(sa_column=_utc_column())
    ends_at: datetime = Field(sa_column=_utc_column())
    talk: str | None = None
    speaker: str | None = None
    description: str | None = None
    link: str | None = None
    capacity: int | None = None
    registration_deadline: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    region: str | None = None
    room_id: str
    status: SessionStatus = Field(default=SessionStatus.SCHEDULED, sa_column=_enum_column(SessionStatus))
    cancel_reason: str | None = None
    # Raised on every change that calendar entries must follow (ICS SEQUENCE).
    sequence: int = 0
    protocol_url: str | None = None
    # The series this session is a part of, if any.
    series_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("series.id", ondelete="SET NULL"), nullable=True, index=True)
    )
    created_by: str
    created_at: datetime = Field(sa_column=_utc_column())
    # When the session was last changed (None: never since it was created); calendar feeds and
    # pages answer conditional requests by it.
    updated_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))

    @property
    def changed_at(self) -> datetime:
        """When the session was last changed, or created."""
        return self.updated_at or self.created_at

    @property
    def number(self) -> int:
        """The session's number (shown as #N); it has one once saved."""
        if self.id is None:
            raise ValueError("the session has not been saved yet")
        return self.id


class Registration(TableModel, table=True):
    """A person's place in a session; `queued_at` orders the waiting list."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_registrations_session_user"),
        Index("ix_registrations_user_id", "user_id"),
        Index("ix_registrations_session_status", "session_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False))
    user_id: str
    status: RegistrationStatus = Field(sa_column=_enum_column(RegistrationStatus))
    municipality: str | None = None
    queued_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())
    # The ✅ reaction that registered this person (removing it withdraws the registration).
    reaction_event_id: str | None = Field(default=None, index=True)


class BotState(TableModel, table=True):
    """Small key/value facts the bot keeps across restarts (e.g. the sync token)."""

    __tablename__ = "bot_state"

    key: str = Field(primary_key=True)
    value: str


class HandledEvent(TableModel, table=True):
    """Command events already answered, so none is answered twice."""

    __tablename__ = "handled_events"

    event_id: str = Field(primary_key=True)
    room_id: str
    handled_at: datetime = Field(sa_column=_utc_column())


class PlannedMessage(TableModel, table=True):
    """A message the bot must post once at `due_at`: the source of truth for the scheduler.

    It concerns a session, or a board entry (`entry_id`), and goes to `room_id`, or to `user_id` by
    direct message. `key` names it for good (no
    second row for the same purpose); `revision` is raised when a sent message is planned
    anew (a moved session), so its transaction id changes with it.
    """

    __tablename__ = "planned_messages"
    __table_args__ = (
        Index("ix_planned_messages_status_due", "status", "due_at"),
        Index("ix_planned_messages_session", "session_id"),
        Index("ix_planned_messages_sent_event", "sent_event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String, nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    # What it is about: a session, or (for the board's renewal reminders and expiry) an entry.
    session_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True)
    )
    entry_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("board_entries.id", ondelete="CASCADE"), nullable=True)
    )
    room_id: str | None = None
    user_id: str | None = None
    due_at: datetime = Field(sa_column=_utc_column())
    status: PlannedStatus = Field(default=PlannedStatus.PENDING, sa_column=_enum_column(PlannedStatus))
    revision: int = 0
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = 0
    # After a refused send: not before this time again.
    next_attempt_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Why the last attempt failed, or why the message was skipped.
    last_error: str | None = None
    late: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    sent_event_id: str | None = None
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # What the sent message last said, so an announcement is edited only when it changes.
    content_digest: str | None = None
    created_at: datetime = Field(sa_column=_utc_column())


class Material(TableModel, table=True):
    """Slides and other documents of a session (`!material`)."""

    __tablename__ = "materials"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    url: str
    title: str | None = None
    added_by: str
    added_at: datetime = Field(sa_column=_utc_column())


class PersonSettings(TableModel, table=True):
    """A person's choices that hold for every session (reminders by direct message), and when
    they were shown the privacy notice."""

    __tablename__ = "person_settings"

    user_id: str = Field(primary_key=True)
    # Reminders by direct message: None (never chosen) counts as on, like True.
    dm_reminders: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    privacy_notice_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    updated_at: datetime = Field(sa_column=_utc_column())


class QaRound(TableModel, table=True):
    """A Q&A round of a session: a thread in the session's room, open until the moderator closes it."""

    __tablename__ = "qa_rounds"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    room_id: str
    root_event_id: str | None = Field(default=None, index=True)
    opened_by: str
    opened_at: datetime = Field(sa_column=_utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The ranked digest in Markdown, written when the round closes.
    digest: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Question(TableModel, table=True):
    """A question of a session: asked in the round's thread, or before it (also anonymously).

    `event_id` is the message people vote on (the asker's own, or the bot's post of it)."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("session_id", "number", name="uq_questions_session_number"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    round_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("qa_rounds.id", ondelete="SET NULL"))
    )
    number: int
    author: str
    anonymous: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    asked_at: datetime = Field(sa_column=_utc_column())
    event_id: str | None = Field(default=None, index=True)
    status: QuestionStatus = Field(default=QuestionStatus.OPEN, sa_column=_enum_column(QuestionStatus))
    answered_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Vote(TableModel, table=True):
    """A 👍 on a question, one per person; removing the reaction removes the vote."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id", name="uq_votes_question_user"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(sa_column=Column(Integer, ForeignKey("questions.id", ondelete="CASCADE"), nullable=False))
    user_id: str
    reaction_event_id: str = Field(index=True)
    voted_at: datetime = Field(sa_column=_utc_column())


class OutboxMessage(TableModel, table=True):
    """One event the bot must send, written in the transaction of the change that causes it and
    delivered until it lands.

    `key` names it for good (a repeated enqueue adds nothing; its transaction id derives from it).
    Messages of one `lane` (a room, or one person's direct chat) go out in the order of their ids.
    A direct message names `user_id`; the deliverer finds or makes the bot's own room with them.
    `thread_of` names another message (by key) whose event is this one's thread root; `records`
    says what to note the sent event id on (`qa_round:ID`, `question:ID`, `topic:ID`, `poll:ID`,
    `series:ID`, `board_entry:ID`, `planned:ID`), or `forget`: the row is deleted once sent. A
    `secret` message (a personal feed's address) keeps its content only until it is delivered or
    given up.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_lane", "status", "lane", "id"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String, nullable=False, unique=True))
    lane: str
    room_id: str | None = None
    user_id: str | None = None
    event_type: str = "m.room.message"
    state_key: str | None = None  # a state event (set in the room, e.g. a widget), not a message
    content: str = Field(sa_column=Column(Text, nullable=False))
    attachment: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    thread_of: str | None = None
    records: str | None = None
    secret: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_column=_enum_column(OutboxStatus))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_error: str | None = None
    expires_at: datetime = Field(sa_column=_utc_column())
    created_at: datetime = Field(sa_column=_utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    sent_event_id: str | None = None


class DirectRoom(TableModel, table=True):
    """The direct chat the bot made itself with one person (invite-only, encrypted, the bot its
    creator): the only room private data is ever sent to."""

    __tablename__ = "direct_rooms"

    user_id: str = Field(primary_key=True)
    room_id: str
    created_at: datetime = Field(sa_column=_utc_column())


class OfficialRoom(TableModel, table=True):
    """A room a coordinator from the config enabled (`!raum freischalten`): the bot serves it
    officially, so power levels there count as roles. Rooms named in the config are not stored."""

    __tablename__ = "official_rooms"

    room_id: str = Field(primary_key=True)
    region: str
    enabled_at: datetime = Field(sa_column=_utc_column())


class RoomInvitation(TableModel, table=True):
    """Who invited the bot into a room it joined (official rooms aside), kept while the bot is in
    it (at most the retention period): how many rooms one person brought it into is capped
    (`rules.invitations`)."""

    __tablename__ = "room_invitations"

    room_id: str = Field(primary_key=True)
    inviter: str = Field(index=True)
    joined_at: datetime = Field(sa_column=_utc_column())


class Topic(TableModel, table=True):
    """A topic wish (shown as T<id>): posted by the bot in an official room, voted for with 👍,
    turned into a session by a coordinator or closed."""

    __tablename__ = "topics"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    room_id: str
    region: str | None = None
    proposed_by: str
    proposed_at: datetime = Field(sa_column=_utc_column())
    # The bot's post of the wish: the message people vote on.
    event_id: str | None = Field(default=None, index=True)
    status: TopicStatus = Field(default=TopicStatus.OPEN, sa_column=_enum_column(TopicStatus))
    session_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True)
    )
    close_reason: str | None = None
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class TopicVote(TableModel, table=True):
    """A 👍 on a topic wish, one per person; removing the reaction removes the vote. Once the
    retention period has passed, the vote of a wish still open counts on without its voter
    (`user_id` empty)."""

    __tablename__ = "topic_votes"
    __table_args__ = (UniqueConstraint("topic_id", "user_id", name="uq_topic_votes_topic_user"),)

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(sa_column=Column(Integer, ForeignKey("topics.id", ondelete="CASCADE"), nullable=False))
    user_id: str | None = None
    reaction_event_id: str = Field(index=True)
    voted_at: datetime = Field(sa_column=_utc_column())


class TalkOffer(TableModel, table=True):
    """Someone who could give the input talk on a topic wish (`!thema T<n> referieren`)."""

    __tablename__ = "talk_offers"
    __table_args__ = (UniqueConstraint("topic_id", "user_id", name="uq_talk_offers_topic_user"),)

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(sa_column=Column(Integer, ForeignKey("topics.id", ondelete="CASCADE"), nullable=False))
    user_id: str
    offered_at: datetime = Field(sa_column=_utc_column())


def random_answer_id() -> int:
    """A random id for a feedback answer: ids that count up would tell the order people answered in."""
    return secrets.randbelow(2**62) + 1


class FeedbackAnswer(TableModel, table=True):
    """One anonymous answer to the feedback question of a session: no person, only `respondent`,
    a keyed hash of the person and the session (so a second answer replaces the first). It is set
    empty when the session's personal data is purged; the answer then stays, linked to no one.

    Nothing in the row tells when it was given: the id is random (on SQLite it is the row's own
    key, so no hidden row number counts up either), and there is no time. `published` says whether
    the answer is part of the totals published last (`FeedbackPublished`); answers given or changed
    since wait for the next step."""

    __tablename__ = "feedback_answers"
    __table_args__ = (UniqueConstraint("session_id", "respondent", name="uq_feedback_answers_session_respondent"),)

    id: int = Field(
        default_factory=random_answer_id,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
    )
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    respondent: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    rating: int
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    published: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, default=False, server_default=false())
    )


class FeedbackPublished(TableModel, table=True):
    """A session's feedback totals as published last: how many gave each rating. Every view shows
    these; they are published anew only once enough answers were given or changed since (see
    `rules.feedback.step_due`), so no difference between two of them tells a single answer."""

    __tablename__ = "feedback_published"

    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    rated_1: int = 0
    rated_2: int = 0
    rated_3: int = 0
    rated_4: int = 0
    rated_5: int = 0


class Poll(TableModel, table=True):
    """A Matrix poll a coordinator added for a session's rating in its room (votes there are
    visible to the room); the bot ends it and posts the result."""

    __tablename__ = "polls"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    room_id: str
    event_id: str | None = Field(default=None, index=True)
    opened_by: str
    opened_at: datetime = Field(sa_column=_utc_column())
    ended_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class BoardEntry(TableModel, table=True):
    """An offer or a need on the cooperation board (shown to users as A<id>), personal data of
    its author. `card_event_id` is its card in the board room, edited when its state changes."""

    __tablename__ = "board_entries"
    __table_args__ = (
        Index("ix_board_entries_state_expires", "state", "expires_at"),
        Index("ix_board_entries_author", "author"),
        Index("ix_board_entries_category", "category"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: EntryKind = Field(sa_column=_enum_column(EntryKind, 8))
    category: str
    title: str
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    municipality: str | None = None
    author: str
    state: EntryState = Field(default=EntryState.OPEN, sa_column=_enum_column(EntryState))
    card_room_id: str | None = None
    card_event_id: str | None = None
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column())


class BoardContact(TableModel, table=True):
    """Someone asked to get in touch about an entry (`!kontakt A<n>`): the room the bot made for
    the two of them (None until it exists), and whether the entry's author declined."""

    __tablename__ = "board_contacts"
    __table_args__ = (UniqueConstraint("entry_id", "asked_by", name="uq_board_contacts_entry_asker"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(
        sa_column=Column(Integer, ForeignKey("board_entries.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    asked_by: str = Field(index=True)
    room_id: str | None = Field(default=None, index=True)
    room_name: str
    declined: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    created_at: datetime = Field(sa_column=_utc_column())


class PersonMunicipality(TableModel, table=True):
    """The municipality a person works for (`!kommune`): the directory's name, or the text as
    typed when it matched nothing there (`listed` false)."""

    __tablename__ = "person_municipalities"

    user_id: str = Field(primary_key=True)
    name: str
    listed: bool = Field(sa_column=Column(Boolean, nullable=False))
    set_at: datetime = Field(sa_column=_utc_column())


class ParticipationCount(TableModel, table=True):
    """How many people of a municipality held a place in a session that ended, kept without names
    when the retention purge deletes the registrations, so the yearly statistics stay right.
    `municipality` is as recorded with the registrations (None: not given)."""

    __tablename__ = "participation_counts"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    municipality: str | None = None
    registrations: int


class CalendarToken(TableModel, table=True):
    """A person's personal calendar feed (`!kalender abonnieren`): only the SHA-256 of its secret
    token is kept, so the address cannot be read back from the database."""

    __tablename__ = "calendar_tokens"

    user_id: str = Field(primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=_utc_column())


class WebLogin(TableModel, table=True):
    """A one-time sign-in link for the web pages (`!web`), valid once and briefly: only the SHA-256
    of its token is kept."""

    __tablename__ = "web_logins"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: str = Field(index=True)
    created_at: datetime = Field(sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column())


class WebSession(TableModel, table=True):
    """A person signed in on the web pages (by a `!web` link or the room widget): the session
    cookie's token is kept only as its SHA-256."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: str = Field(index=True)
    created_at: datetime = Field(sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column())
