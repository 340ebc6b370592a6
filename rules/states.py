"""The states a session, a registration, a planned message, a question and a topic wish can be in."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class PlannedStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class QuestionStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    HIDDEN = "hidden"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good, or still undelivered when it stopped making sense


class TopicStatus(StrEnum):
    OPEN = "open"
    PLANNED = "planned"  # turned into a session
    CLOSED = "closed"
