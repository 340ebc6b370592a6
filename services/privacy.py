"""Privacy (DSGVO): everything stored about the acting person as a file (`my_data`), and deleting
it (`delete_my_data`). What each column holds and how it is covered: `storage.inventory`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, Acting
from rules.board import entry_ref
from rules.rendering.content import edit_content, message_content
from rules.sessions import ref
from rules.topics import topic_ref
from services.feedback import respondent_of
from services.notices import tell_promoted
from storage import outbox, purge, registrations, sessions
from storage.export import PersonData, person_data
from storage.feedback import KeyOf
from storage.models import BoardEntry, OutboxMessage, RegistrationStatus, Session, SessionStatus
from storage.outbox import Outgoing, redaction
from storage.rows import save

EXPORT_FILENAME = "regiobot-meine-daten.json"


@dataclass(frozen=True)
class DataExport:
    """Everything stored about a person, as a JSON file."""

    filename: str
    data: bytes
    mimetype: str = "application/json"


@dataclass(frozen=True)
class Deleted:
    """What `delete_my_data` deleted: how many registrations, how many feedback answers."""

    registrations: int
    answers: int


def feedback_key_of(act: Acting) -> KeyOf:
    """How the sender's feedback answers are found: by their keyed hash for each session."""
    return lambda session_id: respondent_of(act, session_id)


async def my_data(act: Acting, s: AsyncSession) -> DataExport:
    """Everything stored about the sender."""
    data = await person_data(s, act.sender, feedback_key_of(act))
    return DataExport(EXPORT_FILENAME, export(act.sender, data, act.now))


async def delete_my_data(act: Acting, s: AsyncSession) -> Deleted:
    """Delete everything stored about the sender: their upcoming places are cancelled first (the
    waiting lists move up, and those who move up are told), their cards leave the board room's
    history, and messages not sent yet that name them are not sent."""
    data = await person_data(s, act.sender)
    promoted: list[tuple[Session, list[str]]] = []
    for registration, session in data.registrations:
        if (
            registration.status in (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)
            and session.status == SessionStatus.SCHEDULED
            and session.starts_at > act.now
        ):
            await sessions.lock_session(s, session.number)
            registration.status = RegistrationStatus.CANCELLED
            await save(s, registration)
            promoted.append((session, await registrations.promote_waiting(s, session, act.now)))
    for entry in data.board_entries:
        await take_down_card(act, s, entry)
    answers = await purge.forget_person(s, act.sender, key_of=feedback_key_of(act))
    for session, moved_up in promoted:
        act.plans.places_changed(session.number)
        tell_promoted(act, session, moved_up)
    return Deleted(len(data.registrations), answers)


async def take_down_card(act: Acting, s: AsyncSession, entry: BoardEntry) -> None:
    """The entry's card in the board room says it was deleted, and the card and the edits that
    showed its text are redacted (they leave the room's history; the reason says why)."""
    if not (entry.card_event_id and entry.card_room_id):
        return
    deleted = act.t("board.card_deleted", ref=entry_ref(entry.id))
    content = edit_content(entry.card_event_id, message_content(deleted, notice=False))
    act.queue(Outgoing(f"edit:board-card:{entry.id}:deleted", content, room_id=entry.card_room_id), NOTICE_TTL)
    shown = [entry.card_event_id, *await outbox.sent_relating_to(s, entry.card_room_id, entry.card_event_id)]
    for event_id in shown:
        act.queue(redaction(f"redact:{event_id}", entry.card_room_id, event_id, deleted.plain), NOTICE_TTL)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def pending(message: OutboxMessage) -> dict[str, Any]:
    """A direct message to the person not sent yet: when it was written and what it says."""
    try:
        content = json.loads(message.content)
    except ValueError:
        content = {}
    body = content.get("body") if isinstance(content, dict) else None
    return {
        "created_at": _time(message.created_at),
        "status": message.status,
        "text": body if isinstance(body, str) else None,
        "file": content.get("filename") if isinstance(content, dict) and message.attachment is not None else None,
    }


def export(user_id: str, data: PersonData, now: datetime) -> bytes:
    """Everything stored about a person, as JSON (pure)."""
    document: dict[str, Any] = {
        "exported_at": now.isoformat(),
        "user_id": user_id,
        "settings": data.settings
        and {
            "reminders_by_direct_message": data.settings.dm_reminders is not False,
            "privacy_notice_shown_at": _time(data.settings.privacy_notice_at),
            "updated_at": _time(data.settings.updated_at),
        },
        "registrations": [
            {
                "session": ref(session.id),
                "title": session.title,
                "starts_at": _time(session.starts_at),
                "status": registration.status,
                "municipality": registration.municipality,
                "registered_at": _time(registration.queued_at),
                "updated_at": _time(registration.updated_at),
                "by_reaction": registration.reaction_event_id is not None,
            }
            for registration, session in data.registrations
        ],
        "sessions_created": [
            {"session": ref(s.id), "title": s.title, "created_at": _time(s.created_at)} for s in data.sessions_created
        ],
        "materials_added": [
            {"session": ref(m.session_id), "url": m.url, "title": m.title, "added_at": _time(m.added_at)}
            for m in data.materials_added
        ],
        "direct_messages": [
            {
                "about": ref(m.session_id) if m.session_id is not None else entry_ref(m.entry_id),
                "kind": m.kind,
                "due_at": _time(m.due_at),
                "status": m.status,
            }
            for m in data.direct_messages
        ],
        "questions": [
            {
                "session": ref(q.session_id),
                "number": q.number,
                "text": q.text,
                "anonymous": q.anonymous,
                "asked_at": _time(q.asked_at),
                "status": q.status,
            }
            for q in data.questions
        ],
        "votes": [
            {"session": ref(q.session_id), "question": q.number, "voted_at": _time(v.voted_at)} for v, q in data.votes
        ],
        "rounds_opened": [
            {"session": ref(r.session_id), "opened_at": _time(r.opened_at), "closed_at": _time(r.closed_at)}
            for r in data.rounds_opened
        ],
        "topics_proposed": [
            {"topic": topic_ref(t.id), "title": t.title, "proposed_at": _time(t.proposed_at), "status": t.status}
            for t in data.topics_proposed
        ],
        "topic_votes": [{"topic": topic_ref(t.id), "voted_at": _time(v.voted_at)} for v, t in data.topic_votes],
        "talk_offers": [{"topic": topic_ref(t.id), "offered_at": _time(o.offered_at)} for o, t in data.talk_offers],
        "polls_opened": [
            {"session": ref(p.session_id), "opened_at": _time(p.opened_at), "ended_at": _time(p.ended_at)}
            for p in data.polls_opened
        ],
        "feedback": [{"session": ref(a.session_id), "rating": a.rating, "text": a.text} for a in data.feedback],
        "pending_messages": [pending(m) for m in data.pending_messages],
        "board_entries": [
            {
                "entry": entry_ref(e.id),
                "kind": e.kind,
                "category": e.category,
                "title": e.title,
                "description": e.description,
                "municipality": e.municipality,
                "state": e.state,
                "created_at": _time(e.created_at),
                "expires_at": _time(e.expires_at),
            }
            for e in data.board_entries
        ],
        "board_contacts": [
            {
                "entry": entry_ref(e.id),
                "title": e.title,
                "room": c.room_id,
                "declined": c.declined,
                "asked_at": _time(c.created_at),
            }
            for c, e in data.board_contacts
        ],
        "direct_room": data.direct_room
        and {
            "room": data.direct_room.room_id,
            "created_at": _time(data.direct_room.created_at),
        },
        "municipality": data.municipality
        and {
            "name": data.municipality.name,
            "in_directory": data.municipality.listed,
            "set_at": _time(data.municipality.set_at),
        },
        "calendar_feed": data.calendar_token
        and {
            "created_at": _time(data.calendar_token.created_at),
            "address": "stored only as its SHA-256 hash",
        },
        "rooms_invited": [{"room": r.room_id, "joined_at": _time(r.joined_at)} for r in data.rooms_invited],
        "web_sessions": [
            {
                "signed_in_at": _time(w.created_at),
                "expires_at": _time(w.expires_at),
                "cookie": "stored only as its SHA-256 hash",
            }
            for w in data.web_sessions
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode()
