"""What the runtime does for the board (`FEATURE`, see `bot.features`): reminding an entry's author to
renew it, expiring it when its time has come, and making a contact's room on its first message."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL
from bot.features import Due, Feature, PlannedKind, RoomToMake, Skip, StandIns, Timed
from rules.board import EntryState, entry_ref, expiry_due, renewal_reminder_due
from rules.i18n import Message
from rules.rendering.content import message_content
from rules.timing import Kind
from storage import board
from storage.models import BoardEntry

# An entry closed, renewed or deleted since its message was planned (see `rules.board`).
NO_LONGER_DUE = Skip("board_closed")


async def _entry(s: AsyncSession, due: Due) -> BoardEntry | None:
    return None if due.row.entry_id is None else await board.entry(s, due.row.entry_id)


def _to_author(due: Due, entry: BoardEntry, message: Message, until: datetime) -> Timed:
    return due.message(message_content(message, notice=False, mentions=(entry.author,)), until, user_id=entry.author)


async def renewal_reminder(s: AsyncSession, due: Due) -> list[Timed] | Skip:
    """The reminder to renew an entry, by direct message to its author, while it still runs."""
    entry = await _entry(s, due)
    if entry is None or not renewal_reminder_due(entry.state, entry.expires_at, due.now):
        return NO_LONGER_DUE
    voice = due.voice
    message = voice.t(
        "board.renew_reminder", ref=entry_ref(entry.id), title=entry.title, until=voice.short(entry.expires_at)
    )
    return [_to_author(due, entry, message, entry.expires_at)]


async def expiry(s: AsyncSession, due: Due) -> list[Timed] | Skip:
    """An entry expires: its author is told, its card shows it expired."""
    entry = await _entry(s, due)
    if entry is None or not expiry_due(entry.state, entry.expires_at, due.now):
        return NO_LONGER_DUE
    await board.set_entry_state(s, entry, EntryState.EXPIRED, due.now)
    until = due.now + NOTICE_TTL
    told = _to_author(due, entry, due.voice.t("board.expired", ref=entry_ref(entry.id), title=entry.title), until)
    edit = board.card_edit(due.voice, entry, f"edit:{due.key}")
    return [told] if edit is None else [told, (edit, until)]


def is_contact_room(room_id: str) -> bool:
    """Whether `room_id` stands in for a contact's room (see `storage.board.contact_room`)."""
    return board.contact_of_room(room_id) is not None


async def contact_room(s: AsyncSession, stand_in: str) -> str | RoomToMake | None:
    """A contact's room: made before, or to make for the one who asked and the entry's author
    (None when the contact no longer exists)."""
    contact_id = board.contact_of_room(stand_in)
    found = None if contact_id is None else await board.contact_by_id(s, contact_id)
    if found is None:
        return None
    contact, entry = found
    return contact.room_id or RoomToMake(
        sorted({contact.asked_by, entry.author}), contact.room_name, f"contact:{contact_id}"
    )


async def contact_room_made(s: AsyncSession, stand_in: str, room_id: str) -> None:
    contact_id = board.contact_of_room(stand_in)
    if contact_id is not None:
        await board.record_contact_room(s, contact_id, room_id)


FEATURE = Feature(
    "board",
    planned={Kind.BOARD_RENEWAL: PlannedKind(renewal_reminder), Kind.BOARD_EXPIRY: PlannedKind(expiry)},
    stand_ins=StandIns(is_contact_room, contact_room, contact_room_made),
)
