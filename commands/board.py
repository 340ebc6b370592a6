"""The cooperation board ("Angebot und Nachfrage"): offers and needs of municipalities
(`!biete`, `!suche`), searching them (`!markt`), getting in touch (`!kontakt`) and the author's
changes (`!eintrag`). Cards go to the board room; matches and contacts reach people privately."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL
from bot.arguments import Choice, EntryRef, Flag, Rest
from bot.context import Context
from bot.routing import Router
from rules.board import (
    RENEW_WORDS,
    STATE_WORDS,
    EntryKind,
    EntryState,
    Match,
    can_renew,
    card,
    change_state,
    entry_ref,
    expires_at,
    is_active,
    match_category,
    matches,
    parse_draft,
    require_category,
    summary_line,
)
from rules.content import message_content
from rules.errors import UserError
from rules.i18n import Message
from rules.municipalities import Outcome, match
from storage import board, planned
from storage.models import BoardContact, BoardEntry
from storage.municipalities import municipality_of
from storage.outbox import Outgoing
from storage.rows import save

router = Router("board")
MAX_TEXT = 2400  # the whole `Kategorie: Titel | Beschreibung`
SHOW = 10  # entries `!markt` lists
RENEW = "renew"
ENTRY_ACTIONS = {**STATE_WORDS, **dict.fromkeys(RENEW_WORDS, RENEW)}


def about(entry: BoardEntry) -> dict[str, str]:
    """The `ref` and `title` parameters most messages about an entry take."""
    return {"ref": entry_ref(entry.id), "title": entry.title}


async def find_entry(s: AsyncSession, number: int) -> BoardEntry:
    found = await board.entry(s, number)
    if found is None:
        raise UserError("board.unknown_entry", ref=entry_ref(number))
    return found


def refresh_card(ctx: Context, entry: BoardEntry) -> None:
    """Edit the entry's card in the board room to show its state."""
    edit = board.card_edit(ctx, entry, f"edit:board-card:{entry.id}:{ctx.event_id}")
    if edit is not None:
        ctx.queue(edit, NOTICE_TTL)


def tell_matches(ctx: Context, entry: BoardEntry, found: list[Match]) -> None:
    """Both authors of each good match hear of it by direct message, with both entries."""
    for good in found:
        other = good.entry
        for person, mine, theirs in ((entry.author, entry, other), (other.author, other, entry)):
            ctx.tell(
                person,
                Message.join(
                    [
                        ctx.t("board.match_head", ref=entry_ref(mine.id), title=mine.title),
                        summary_line(ctx, theirs),
                        ctx.t("board.match_howto", ref=entry_ref(theirs.id)),
                    ]
                ),
            )


async def create(ctx: Context, kind: EntryKind, text: str) -> None:
    draft = parse_draft(text)
    category = require_category(draft.category, ctx.config.board.categories)
    async with ctx.join_batch() as s:
        municipality = await municipality_of(s, ctx.sender)
        if municipality is None:
            raise UserError("board.municipality_missing")
        room = await board.board_room(s, ctx.config.board.room)
        entry = await board.add_entry(
            s,
            BoardEntry(
                kind=kind,
                category=category,
                title=draft.title,
                description=draft.description,
                municipality=municipality,
                author=ctx.sender,
                state=EntryState.OPEN,
                created_at=ctx.now,
                updated_at=ctx.now,
                expires_at=expires_at(ctx.now, ctx.config.board.expiry),
            ),
        )
        await planned.plan_entry(s, entry, ctx.config.board.renew_notice, ctx.now)
        found = matches(entry, await board.candidates(s, kind.other, category, ctx.now), ctx.now)
    if room is not None and ctx.official.is_official(room):  # a room taken off the official list is no board
        ctx.post(room, card(ctx, entry), records=f"board_entry:{entry.id}")
    else:
        room = None
    tell_matches(ctx, entry, found)
    lines = [ctx.t(f"board.created_{kind}", **about(entry), category=category, until=ctx.short(entry.expires_at))]
    if room is None:
        lines.append(ctx.t("board.no_board_room"))
    if found:
        lines.append(ctx.t("board.matches_told", count=len(found)))
    await ctx.reply(Message.join(lines))


ENTRY_TEXT = Rest("text", "args.board_entry", missing="board.usage", maximum=MAX_TEXT, too_long="board.too_long")


@router.command("biete", aliases=("angebot", "offer"), help="help.offer", args=[ENTRY_TEXT])
async def offer(ctx: Context, text: str) -> None:
    await create(ctx, EntryKind.OFFER, text)


@router.command("suche", aliases=("gesuch", "need"), help="help.need", args=[ENTRY_TEXT])
async def need(ctx: Context, text: str) -> None:
    await create(ctx, EntryKind.NEED, text)


@router.command(
    "markt",
    aliases=("market",),
    help="help.market",
    args=[Rest("text", "args.board_search", required=False, maximum=200, too_long="board.too_long")],
)
async def market(ctx: Context, text: str) -> None:
    """Without a word: the newest entries; with a category or a municipality: its entries;
    otherwise a full-text search, best matches first."""
    category = match_category(text, ctx.config.board.categories) if text else None
    # Only a name or its first words count here (looking for typos is slow, and most words are no names).
    place = match(ctx.config.municipalities, text, typos=False) if text and category is None else None
    municipality = place.name if place and place.outcome == Outcome.SURE else None
    async with ctx.join_batch() as s:
        if not text or category or municipality:
            found = await board.listing(s, ctx.now, SHOW, category=category, municipality=municipality)
        else:
            found = await board.search(s, text, ctx.now, SHOW)
    if not found and place and place.candidates:  # nothing found, and the word began several names
        raise UserError("board.did_you_mean", candidates=", ".join(place.candidates), example=place.candidates[0])
    if not found:
        raise UserError("board.nothing_found" if text else "board.empty")
    head = (
        ctx.t("board.found_head", count=len(found), query=category or municipality or text)
        if text
        else ctx.t("board.newest_head")
    )
    await ctx.reply(Message.join([head, *(summary_line(ctx, e) for e in found), ctx.t("board.found_howto")]))


@router.command(
    "kontakt",
    aliases=("contact",),
    help="help.contact",
    args=[EntryRef(), Flag("decline", "args.decline", words=("ablehnen", "decline"))],
)
async def contact(ctx: Context, number: int, decline: bool) -> None:
    if decline:
        await decline_contact(ctx, number)
        return
    async with ctx.join_batch() as s:
        entry = await find_entry(s, number)
        if entry.author == ctx.sender:
            raise UserError("board.contact_own", **about(entry))
        if not is_active(entry.state, entry.expires_at, ctx.now):
            raise UserError("board.not_active", **about(entry), state=ctx.t(f"board.state_{entry.state}"))
        if await board.contact(s, number, ctx.sender) is not None:
            raise UserError("board.contact_exists", **about(entry))
        mine = await municipality_of(s, ctx.sender)
        made = await save(
            s,
            BoardContact(
                entry_id=number,
                asked_by=ctx.sender,
                room_name=ctx.t("board.room_name", **about(entry)).plain,
                created_at=ctx.now,
            ),
        )
        if entry.state == EntryState.OPEN:
            await board.set_entry_state(s, entry, EntryState.TALKING, ctx.now)
            refresh_card(ctx, entry)
    introduction = ctx.t(
        "board.introduction",
        **about(entry),
        kind=ctx.t(f"board.kind_{entry.kind}"),
        asker=ctx.sender,
        asker_municipality=mine or ctx.t("board.no_municipality").plain,
        author=entry.author,
        municipality=entry.municipality or ctx.t("board.no_municipality").plain,
        description=entry.description or "–",
    )
    content = message_content(introduction, notice=False, mentions=(ctx.sender, entry.author))
    ctx.queue(Outgoing(f"board-contact:{made.id}", content, room_id=board.contact_room(made.id or 0)), NOTICE_TTL)
    await ctx.reply("board.contact_opened", **about(entry))


async def decline_contact(ctx: Context, number: int) -> None:
    """The entry's author declines a contact: the one of the room this is said in, or the only one."""
    async with ctx.join_batch() as s:
        entry = await find_entry(s, number)
        if entry.author != ctx.sender:
            raise UserError("board.author_only", **about(entry))
        here = await board.contact_in_room(s, ctx.room_id)
        waiting = await board.open_contacts(s, number)
        chosen = here if here is not None and here.entry_id == number else None
        if chosen is None and len(waiting) == 1:
            chosen = waiting[0]
        if chosen is None or chosen.declined:
            raise UserError("board.decline_where", **about(entry))
        chosen.declined = True
        await save(s, chosen)
        if entry.state == EntryState.TALKING and all(c.id == chosen.id for c in waiting):
            await board.set_entry_state(s, entry, EntryState.OPEN, ctx.now)
            refresh_card(ctx, entry)
    note = ctx.t("board.declined_note", **about(entry))
    content = message_content(note, notice=False, mentions=(chosen.asked_by,))
    target = chosen.room_id or board.contact_room(chosen.id or 0)
    ctx.queue(Outgoing(f"board-decline:{chosen.id}", content, room_id=target), NOTICE_TTL)
    await ctx.reply("board.declined", **about(entry))


@router.command(
    "eintrag",
    aliases=("entry",),
    help="help.entry",
    args=[
        EntryRef(),
        Choice(
            "action",
            "args.entry_action",
            choices=ENTRY_ACTIONS,
            missing="board.entry_usage",
            invalid="board.entry_usage",
        ),
    ],
)
async def change(ctx: Context, number: int, action: EntryState | str) -> None:
    """The author closes, reopens or renews an entry; its card shows the new state."""
    async with ctx.join_batch() as s:
        entry = await find_entry(s, number)
        if entry.author != ctx.sender:
            raise UserError("board.author_only", **about(entry))
        if action == RENEW:
            if not can_renew(entry.state):
                raise UserError("board.state_final")
            entry.expires_at = expires_at(ctx.now, ctx.config.board.expiry)
            state = EntryState.OPEN if entry.state == EntryState.EXPIRED else EntryState(entry.state)
            await board.set_entry_state(s, entry, state, ctx.now)
            await planned.plan_entry(s, entry, ctx.config.board.renew_notice, ctx.now)
            key, params = "board.renewed", {"until": ctx.short(entry.expires_at)}
        else:
            state = change_state(EntryState(entry.state), EntryState(action))
            await board.set_entry_state(s, entry, state, ctx.now)
            key, params = "board.state_changed", {"state": ctx.t(f"board.state_{state}").plain}
    refresh_card(ctx, entry)
    await ctx.reply(key, **about(entry), **params)
