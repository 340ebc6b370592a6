"""The cooperation board's entries and contacts: writing them, finding them, and the board room.

A contact room is made by the deliverer when the first message to it goes out: until then the
messages name it by `contact_room(contact_id)`, a stand-in that is no Matrix room id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.board import ACTIVE, EntryKind, EntryState, card
from rules.rendering.content import edit_content, message_content
from rules.search import key_heads
from rules.voice import Voice
from storage import board_search
from storage.models import BoardContact, BoardEntry
from storage.outbox import Outgoing, redaction
from storage.rows import dialect_of, save
from storage.state import get_state, set_state

BOARD_ROOM = "board_room"  # bot_state key: the room `!raum brett` chose
_CONTACT = "contact:"


def contact_room(contact_id: int) -> str:
    """The stand-in for a contact's room in the outbox, until the deliverer has made it."""
    return f"{_CONTACT}{contact_id}"


def contact_of_room(room_id: str | None) -> int | None:
    """The contact a stand-in names (None for a real room id)."""
    if room_id and room_id.startswith(_CONTACT) and room_id[len(_CONTACT) :].isdigit():
        return int(room_id[len(_CONTACT) :])
    return None


async def add_entry(s: AsyncSession, entry: BoardEntry) -> BoardEntry:
    """Save a new entry and put it into the search index."""
    await save(s, entry)
    await board_search.index(s, entry)
    return entry


async def entry(s: AsyncSession, number: int) -> BoardEntry | None:
    return await s.get(BoardEntry, number)


async def _in_order(s: AsyncSession, ids: Sequence[int]) -> list[BoardEntry]:
    """The entries with these ids, in the order given."""
    if not ids:
        return []
    found = {e.id: e for e in (await s.exec(select(BoardEntry).where(col(BoardEntry.id).in_(ids)))).all()}
    return [found[i] for i in ids if i in found]


async def candidates(s: AsyncSession, new: BoardEntry, now: datetime, limit: int) -> list[BoardEntry]:
    """What a new entry may match: the active entries of the other kind in its category (not its
    author's) that share most of its words, best first, at most `limit` however many there are."""
    heads = key_heads(new.title, new.description)
    other = EntryKind(new.kind).other
    return await _in_order(s, await board_search.related(s, heads, other, new.category, new.author, now, limit))


async def open_entries(s: AsyncSession, author: str, now: datetime) -> int:
    """How many entries `author` has on the board now (open or in talks, not expired)."""
    query = select(func.count(col(BoardEntry.id))).where(
        BoardEntry.author == author, col(BoardEntry.state).in_(ACTIVE), col(BoardEntry.expires_at) > now
    )
    return int((await s.exec(query)).one())


async def listing(
    s: AsyncSession, now: datetime, limit: int, category: str | None = None, municipality: str | None = None
) -> list[BoardEntry]:
    """Active entries, newest first (of one category or municipality)."""
    active = [col(BoardEntry.state).in_(ACTIVE), col(BoardEntry.expires_at) > now]
    if dialect_of(s) == "sqlite":
        # Told that most entries are active (they expire after months), SQLite reads from the newest
        # down and stops at `limit`, instead of reading every active entry by the (state, expires_at)
        # index and sorting them all: about 1 ms instead of 8–13 ms with 10,000 entries.
        active = [func.likely(condition) for condition in active]
    query = select(BoardEntry).where(*active)
    if category is not None:
        query = query.where(BoardEntry.category == category)
    if municipality is not None:
        query = query.where(BoardEntry.municipality == municipality)
    return list((await s.exec(query.order_by(col(BoardEntry.id).desc()).limit(limit))).all())


async def search(s: AsyncSession, text: str, now: datetime, limit: int) -> list[BoardEntry]:
    """Active entries that match `text` (German word forms understood), best first."""
    return await board_search.search(s, text, now, limit)


def card_record(found: BoardEntry) -> str:
    """What the outbox notes the card's event on, once it is posted (see `storage.outbox.mark_sent`)."""
    return f"board_entry:{found.id}"


def card_edit(voice: Voice, found: BoardEntry, key: str) -> Outgoing | None:
    """The edit that makes the entry's card show it as it is now (None while the card is not posted)."""
    if found.card_event_id is None or found.card_room_id is None:
        return None
    content = edit_content(found.card_event_id, message_content(card(voice, found), notice=False))
    return Outgoing(key, content, room_id=found.card_room_id)


def card_redaction(voice: Voice, found: BoardEntry) -> Outgoing | None:
    """The redaction that takes the entry's card out of the board room (None while it is not posted)."""
    if found.card_event_id is None or found.card_room_id is None:
        return None
    reason = voice.t("board.hidden_reason").plain
    return redaction(f"redact:{found.card_event_id}", found.card_room_id, found.card_event_id, reason)


async def set_entry_state(s: AsyncSession, found: BoardEntry, state: EntryState, now: datetime) -> None:
    found.state, found.updated_at = state, now
    await save(s, found)


# --- Contacts -----------------------------------------------------------------------------------


async def contact(s: AsyncSession, entry_id: int, asked_by: str) -> BoardContact | None:
    query = select(BoardContact).where(BoardContact.entry_id == entry_id, BoardContact.asked_by == asked_by)
    return (await s.exec(query)).first()


async def contacts_since(s: AsyncSession, asked_by: str, since: datetime) -> int:
    """How many contacts `asked_by` asked for after `since`."""
    query = select(func.count(col(BoardContact.id))).where(
        BoardContact.asked_by == asked_by, col(BoardContact.created_at) > since
    )
    return int((await s.exec(query)).one())


async def contact_by_id(s: AsyncSession, contact_id: int) -> tuple[BoardContact, BoardEntry] | None:
    query = (
        select(BoardContact, BoardEntry)
        .join(BoardEntry, col(BoardEntry.id) == col(BoardContact.entry_id))
        .where(BoardContact.id == contact_id)
    )
    row = (await s.exec(query)).first()
    return (row[0], row[1]) if row else None


async def contact_in_room(s: AsyncSession, room_id: str) -> BoardContact | None:
    return (await s.exec(select(BoardContact).where(BoardContact.room_id == room_id))).first()


async def open_contacts(s: AsyncSession, entry_id: int) -> list[BoardContact]:
    query = select(BoardContact).where(BoardContact.entry_id == entry_id, col(BoardContact.declined).is_(False))
    return list((await s.exec(query.order_by(col(BoardContact.id)))).all())


async def record_contact_room(s: AsyncSession, contact_id: int, room_id: str) -> None:
    await s.exec(update(BoardContact).where(col(BoardContact.id) == contact_id).values(room_id=room_id))


# --- The board room -----------------------------------------------------------------------------


async def board_room(s: AsyncSession, configured: str | None) -> str | None:
    """The room cards are posted in: the config's, or the one `!raum brett` chose."""
    return configured or await get_state(s, BOARD_ROOM)


async def choose_board_room(s: AsyncSession, room_id: str) -> None:
    await set_state(s, BOARD_ROOM, room_id)
