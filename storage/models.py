"""Database models. Times are stored in UTC and come back as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


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


def _utc_column(nullable: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Session(SQLModel, table=True):
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
    status: str = Field(default=SessionStatus.SCHEDULED, sa_column=Column(String(16), nullable=False))
    cancel_reason: str | None = None
    # Raised on every change that calendar entries must follow (ICS SEQUENCE).
    sequence: int = 0
    created_by: str
    created_at: datetime = Field(sa_column=_utc_column())


class Registration(SQLModel, table=True):
    """A person's place in a session; `queued_at` orders the waiting list."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_registrations_session_user"),
        Index("ix_registrations_user_id", "user_id"),
        Index("ix_registrations_session_status", "session_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"),
                                             nullable=False))
    user_id: str
    status: str = Field(sa_column=Column(String(16), nullable=False))
    municipality: str | None = None
    queued_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())


class BotState(SQLModel, table=True):
    """Small key/value facts the bot keeps across restarts (e.g. the sync token)."""

    __tablename__ = "bot_state"

    key: str = Field(primary_key=True)
    value: str


class HandledEvent(SQLModel, table=True):
    """Command events already answered, so none is answered twice."""

    __tablename__ = "handled_events"

    event_id: str = Field(primary_key=True)
    room_id: str
    handled_at: datetime = Field(sa_column=_utc_column())
