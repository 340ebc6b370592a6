"""Privacy (DSGVO): what is stored about me (`!meine-daten`), and deleting it (`!daten-löschen`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.acting import NOTICE_TTL
from bot.arguments import Choice
from bot.context import Context
from bot.routing import Router
from rules.board import entry_ref
from rules.content import edit_content, message_content
from rules.sessions import ref
from rules.topics import topic_ref
from services.feedback import respondent_of
from services.notices import tell_promoted
from storage import people, registrations, sessions
from storage.feedback import KeyOf
from storage.models import OutboxMessage, RegistrationStatus, SessionStatus
from storage.outbox import Outgoing
from storage.rows import save

router = Router("privacy")
CONFIRM = {"ja": True, "yes": True, "bestätigen": True}


def feedback_key_of(ctx: Context) -> KeyOf:
    """How the sender's feedback answers are found: by their keyed hash for each session."""
    return lambda session_id: respondent_of(ctx, session_id)


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


def export(user_id: str, data: people.PersonData, now: datetime) -> bytes:
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


@router.command("meine-daten", aliases=("meinedaten", "my-data"), help="help.my_data")
async def my_data(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        data = await people.person_data(s, ctx.sender, feedback_key_of(ctx))
    ctx.send_file(
        export(ctx.sender, data, ctx.now), "regiobot-meine-daten.json", "application/json", to_user=ctx.sender
    )
    await ctx.reply("privacy.sent")


@router.command(
    "daten-löschen",
    aliases=("daten-loeschen", "delete-my-data"),
    help="help.delete_data",
    args=[Choice("confirmed", "args.confirm", choices=CONFIRM, missing="privacy.confirm", invalid="privacy.confirm")],
)
async def delete_data(ctx: Context, confirmed: bool) -> None:
    promoted: list[tuple[Any, list[str]]] = []
    async with ctx.join_batch() as s:
        data = await people.person_data(s, ctx.sender)
        for registration, session in data.registrations:
            if (
                registration.status in (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)
                and session.status == SessionStatus.SCHEDULED
                and session.starts_at > ctx.now
            ):
                await sessions.lock_session(s, session.number)
                registration.status = RegistrationStatus.CANCELLED
                await save(s, registration)
                promoted.append((session, await registrations.promote_waiting(s, session, ctx.now)))
        answers = await people.forget_person(s, ctx.sender, key_of=feedback_key_of(ctx))
    for session, moved_up in promoted:
        ctx.plans.places_changed(session.id)
        tell_promoted(ctx, session, moved_up)
    for entry in data.board_entries:  # the cards in the board room no longer show them
        if entry.card_event_id and entry.card_room_id:
            removed = message_content(ctx.t("board.card_deleted", ref=entry_ref(entry.id)), notice=False)
            content = edit_content(entry.card_event_id, removed)
            ctx.queue(Outgoing(f"edit:board-card:{entry.id}:deleted", content, room_id=entry.card_room_id), NOTICE_TTL)
    await ctx.reply("privacy.deleted", registrations=len(data.registrations), answers=answers)
