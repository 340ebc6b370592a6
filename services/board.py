"""The cooperation board ("Angebot und Nachfrage"): offering and asking (`create`), finding entries
(`find`), getting in touch (`contact`, `decline`), the author's changes (`set_state`, `renew`) and a
coordinator of the board room taking an entry down (`hide`).

Cards go to the board room, matches and contacts reach people privately; every message is queued
on the acting person. Matching a new entry is bounded (see `rules.board`): the search index
hands over a few dozen candidates, compared on the spot, inside the caller's transaction — tens
of milliseconds however many entries the board holds (`python -m bench.board`), so neither a
thread nor a transaction of its own is worth it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL, Acting
from bot.roles import Role
from rules.board import (
    MAX_CANDIDATES,
    MAX_CONTACTS_PER_DAY,
    MAX_OPEN_ENTRIES,
    Draft,
    EntryKind,
    EntryState,
    Match,
    card,
    change_state,
    entry_ref,
    expires_at,
    is_active,
    kind_text,
    match_category,
    matches,
    renewed_state,
    require_category,
    state_text,
    summary_line,
)
from rules.errors import UserError
from rules.i18n import Message
from rules.municipalities import Outcome, match
from rules.rendering.content import message_content
from storage import board, outbox, planned
from storage.models import BoardContact, BoardEntry
from storage.municipalities import municipality_of
from storage.outbox import Outgoing
from storage.rows import save

SHOW = 10  # entries a search shows
CONTACT_WINDOW = timedelta(days=1)  # MAX_CONTACTS_PER_DAY counts the contacts asked for in this time
MAX_REASON = 300  # characters of the reason a coordinator gives for taking an entry down


def about(entry: BoardEntry) -> dict[str, str]:
    """The `ref` and `title` parameters most messages about an entry take."""
    return {"ref": entry_ref(entry.id), "title": entry.title}


async def find_entry(s: AsyncSession, number: int) -> BoardEntry:
    """Entry A<number>, whatever its state; refused when there is none."""
    found = await board.entry(s, number)
    if found is None:
        raise UserError("board.unknown_entry", ref=entry_ref(number))
    return found


def refresh_card(act: Acting, entry: BoardEntry) -> None:
    """Edit the entry's card in the board room to show its state."""
    edit = board.card_edit(act, entry, f"edit:board-card:{entry.id}:{act.request_id}")
    if edit is not None:
        act.queue(edit, NOTICE_TTL)


async def _require_room_on_board(act: Acting, s: AsyncSession) -> None:
    """Refuse when the sender already has as many entries on the board as one person may."""
    if await board.open_entries(s, act.sender, act.now) >= MAX_OPEN_ENTRIES:
        raise UserError("board.too_many_entries", maximum=MAX_OPEN_ENTRIES)


# --- Offering and asking ------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    """A new entry: whether its card went to the board room, and how many matches were told."""

    entry: BoardEntry
    on_board: bool
    matches: int


async def matching(s: AsyncSession, entry: BoardEntry, now: datetime) -> list[Match]:
    """The good matches of a new entry, among the few dozen entries its words find first (so
    the work is bounded however many entries the board holds)."""
    return matches(entry, await board.candidates(s, entry, now, MAX_CANDIDATES), now)


def tell_matches(act: Acting, entry: BoardEntry, found: list[Match]) -> None:
    """Both authors of each good match hear of it by direct message, with both entries."""
    for good in found:
        other = good.entry
        for person, mine, theirs in ((entry.author, entry, other), (other.author, other, entry)):
            act.tell(
                person,
                Message.join(
                    [
                        act.t("board.match_head", ref=entry_ref(mine.id), title=mine.title),
                        summary_line(act, theirs),
                        act.t("board.match_howto", ref=entry_ref(theirs.id)),
                    ]
                ),
            )


async def create(act: Acting, s: AsyncSession, kind: EntryKind, draft: Draft) -> Created:
    """Put an offer or a need of the sender's municipality on the board: its card into the board
    room (if there is an official one), matching entries' authors told privately."""
    category = require_category(draft.category, act.config.board.categories)
    municipality = await municipality_of(s, act.sender)
    if municipality is None:
        raise UserError("board.municipality_missing")
    await _require_room_on_board(act, s)
    room = await board.board_room(s, act.config.board.room)
    entry = await board.add_entry(
        s,
        BoardEntry(
            kind=kind,
            category=category,
            title=draft.title,
            description=draft.description,
            municipality=municipality,
            author=act.sender,
            state=EntryState.OPEN,
            created_at=act.now,
            updated_at=act.now,
            expires_at=expires_at(act.now, act.config.board.expiry),
        ),
    )
    await planned.plan_entry(s, entry, act.config.board.renew_notice, act.now)
    found = await matching(s, entry, act.now)
    if room is not None and act.official.is_official(room):  # a room taken off the official list is no board
        act.post(room, card(act, entry), records=board.card_record(entry))
    else:
        room = None
    tell_matches(act, entry, found)
    return Created(entry, room is not None, len(found))


# --- Finding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What a search found: the entries (the first SHOW), what was looked for (None: the newest
    entries), and whether more were found than shown."""

    entries: list[BoardEntry]
    query: str | None
    more: bool = False


async def find(act: Acting, s: AsyncSession, text: str) -> Found:
    """Without a word: the newest entries; with a category or a municipality: its entries;
    otherwise a full-text search, best matches first. One entry beyond those shown tells whether
    there are more (they are not counted: that would rank every match)."""
    categories = act.config.board.categories
    category = match_category(text, categories) if text else None
    # Only a name or its first words count here (looking for typos is slow, and most words are no names).
    place = match(act.config.municipalities, text, typos=False) if text and category is None else None
    municipality = place.name if place and place.outcome == Outcome.SURE else None
    if not text or category or municipality:
        found = await board.listing(s, act.now, SHOW + 1, category=category, municipality=municipality)
    else:
        found = await board.search(s, text, act.now, SHOW + 1)
    if not found and place and place.candidates:  # nothing found, and the word began several names
        raise UserError("board.did_you_mean", candidates=", ".join(place.candidates), example=place.candidates[0])
    if not found:
        raise UserError("board.nothing_found" if text else "board.empty")
    return Found(found[:SHOW], (category or municipality or text) if text else None, len(found) > SHOW)


# --- Getting in touch ---------------------------------------------------------------------------


async def contact(act: Acting, s: AsyncSession, number: int) -> BoardEntry:
    """Open a room for the sender and the entry's author (once per entry and person, a few a
    day): the deliverer makes it with the introduction; the card then shows „im Gespräch“."""
    entry = await find_entry(s, number)
    if entry.author == act.sender:
        raise UserError("board.contact_own", **about(entry))
    if not is_active(entry.state, entry.expires_at, act.now):
        raise UserError("board.not_active", **about(entry), state=state_text(act, entry.state))
    if await board.contact(s, number, act.sender) is not None:
        raise UserError("board.contact_exists", **about(entry))
    if await board.contacts_since(s, act.sender, act.now - CONTACT_WINDOW) >= MAX_CONTACTS_PER_DAY:
        raise UserError("board.too_many_contacts", maximum=MAX_CONTACTS_PER_DAY)
    mine = await municipality_of(s, act.sender)
    made = await save(
        s,
        BoardContact(
            entry_id=number,
            asked_by=act.sender,
            room_name=act.t("board.room_name", **about(entry)).plain,
            created_at=act.now,
        ),
    )
    if entry.state == EntryState.OPEN:
        await board.set_entry_state(s, entry, EntryState.TALKING, act.now)
        refresh_card(act, entry)
    introduction = act.t(
        "board.introduction",
        **about(entry),
        kind=kind_text(act, entry.kind),
        asker=act.sender,
        asker_municipality=mine or act.t("board.no_municipality").plain,
        author=entry.author,
        municipality=entry.municipality or act.t("board.no_municipality").plain,
        description=entry.description or "–",
    )
    content = message_content(introduction, notice=False, mentions=(act.sender, entry.author))
    act.queue(Outgoing(f"board-contact:{made.id}", content, room_id=board.contact_room(made.id or 0)), NOTICE_TTL)
    return entry


async def decline(act: Acting, s: AsyncSession, number: int) -> BoardEntry:
    """The entry's author declines a contact: the one of the room this is said in, or the only one."""
    entry = await find_entry(s, number)
    if entry.author != act.sender:
        raise UserError("board.author_only", **about(entry))
    here = await board.contact_in_room(s, act.room_id)
    waiting = await board.open_contacts(s, number)
    chosen = here if here is not None and here.entry_id == number else None
    if chosen is None and len(waiting) == 1:
        chosen = waiting[0]
    if chosen is None or chosen.declined:
        raise UserError("board.decline_where", **about(entry))
    chosen.declined = True
    await save(s, chosen)
    if entry.state == EntryState.TALKING and all(c.id == chosen.id for c in waiting):
        await board.set_entry_state(s, entry, EntryState.OPEN, act.now)
        refresh_card(act, entry)
    note = act.t("board.declined_note", **about(entry))
    content = message_content(note, notice=False, mentions=(chosen.asked_by,))
    target = chosen.room_id or board.contact_room(chosen.id or 0)
    act.queue(Outgoing(f"board-decline:{chosen.id}", content, room_id=target), NOTICE_TTL)
    return entry


# --- The author's changes -----------------------------------------------------------------------


async def _authors_entry(act: Acting, s: AsyncSession, number: int) -> BoardEntry:
    """Entry A<number>; refused unless the sender wrote it (a coordinator hides, never edits)."""
    entry = await find_entry(s, number)
    if entry.author != act.sender:
        raise UserError("board.author_only", **about(entry))
    return entry


async def _require_room_to_return(
    act: Acting, s: AsyncSession, entry: BoardEntry, state: EntryState, until: datetime
) -> None:
    """Refuse a change that puts an entry back on the board (open or in talks again, until
    `until`) while its author has as many there as one may."""
    if not is_active(entry.state, entry.expires_at, act.now) and is_active(state, until, act.now):
        await _require_room_on_board(act, s)


async def set_state(act: Acting, s: AsyncSession, number: int, wanted: EntryState) -> BoardEntry:
    """The author closes or reopens an entry; its card shows the new state."""
    entry = await _authors_entry(act, s, number)
    state = change_state(EntryState(entry.state), wanted)
    await _require_room_to_return(act, s, entry, state, entry.expires_at)
    await board.set_entry_state(s, entry, state, act.now)
    refresh_card(act, entry)
    return entry


async def renew(act: Acting, s: AsyncSession, number: int) -> BoardEntry:
    """The author keeps an entry on the board for another `[board] expire_days` (an expired one
    is open again)."""
    entry = await _authors_entry(act, s, number)
    state = renewed_state(EntryState(entry.state))
    until = expires_at(act.now, act.config.board.expiry)
    await _require_room_to_return(act, s, entry, state, until)
    entry.expires_at = until
    await board.set_entry_state(s, entry, state, act.now)
    await planned.plan_entry(s, entry, act.config.board.renew_notice, act.now)
    refresh_card(act, entry)
    return entry


# --- Moderation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hidden:
    """An entry taken down; `before`: it had been already (its card is taken out again if it
    went up meanwhile, its author is not told twice)."""

    entry: BoardEntry
    before: bool


async def hide(act: Acting, s: AsyncSession, number: int, reason: str | None) -> Hidden:
    """A coordinator of the board room takes an entry down: it is no longer listed, matched or
    contactable, its card is redacted, and its author is told privately why."""
    entry = await find_entry(s, number)
    room = await board.board_room(s, act.config.board.room)
    # Power counts only in the official board room; without one, only the config's coordinators.
    if act.roles.in_room(room or "", act.sender) < Role.COORDINATOR:
        raise UserError("board.hide_refused")
    if reason and len(reason) > MAX_REASON:
        raise UserError("board.too_long", maximum=MAX_REASON)
    before = entry.state == EntryState.HIDDEN
    if not before:
        await board.set_entry_state(s, entry, EntryState.HIDDEN, act.now)
        why = reason or act.t("board.no_reason").plain
        act.tell(entry.author, act.t("board.hidden_note", **about(entry), reason=why))
    taken_out = board.card_redaction(act, entry)
    if taken_out is not None:
        act.queue(taken_out, NOTICE_TTL)
    else:  # its card has not gone out yet: it never will
        await outbox.withdraw(s, board.card_record(entry))
    return Hidden(entry, before)
