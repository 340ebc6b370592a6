"""The cooperation board in chat ("Angebot und Nachfrage"): `!biete`, `!suche`, `!markt`,
`!kontakt` and `!eintrag`, each parsed, handed to its use case in `services.board`, and answered."""

from __future__ import annotations

from bot.context import Context
from rules.board import (
    EntryAction,
    EntryKind,
    EntryState,
    parse_draft,
    state_text,
    summary_line,
)
from rules.i18n import Message
from services import board
from services.board import about

CREATED = {EntryKind.OFFER: "board.created_offer", EntryKind.NEED: "board.created_need"}


async def create(ctx: Context, kind: EntryKind, text: str) -> None:
    draft = parse_draft(text)
    async with ctx.join_batch() as s:
        made = await board.create(ctx, s, kind, draft)
    entry = made.entry
    lines = [ctx.t(CREATED[kind], **about(entry), category=entry.category, until=ctx.short(entry.expires_at))]
    if not made.on_board:
        lines.append(ctx.t("board.no_board_room"))
    if made.matches:
        lines.append(ctx.t("board.matches_told", count=made.matches))
    await ctx.reply(Message.join(lines))


async def offer(ctx: Context, text: str) -> None:
    await create(ctx, EntryKind.OFFER, text)


async def need(ctx: Context, text: str) -> None:
    await create(ctx, EntryKind.NEED, text)


async def market(ctx: Context, text: str) -> None:
    async with ctx.join_batch() as s:
        found = await board.find(ctx, s, text)
    if found.query is None:
        head = ctx.t("board.newest_head")
    elif found.more:
        head = ctx.t("board.found_head_best", count=len(found.entries), query=found.query)
    else:
        head = ctx.t("board.found_head", count=len(found.entries), query=found.query)
    lines = [head, *(summary_line(ctx, e) for e in found.entries), ctx.t("board.found_howto")]
    if found.more:
        lines.append(ctx.t("board.narrow", example=ctx.config.board.categories[0]))
    await ctx.reply(Message.join(lines))


async def contact(ctx: Context, number: int, decline: bool) -> None:
    async with ctx.join_batch() as s:
        if decline:
            entry = await board.decline(ctx, s, number)
        else:
            entry = await board.contact(ctx, s, number)
    await ctx.reply("board.declined" if decline else "board.contact_opened", **about(entry))


async def change(ctx: Context, number: int, action: EntryState | EntryAction, reason: str) -> None:
    """The author closes, reopens or renews an entry; a coordinator of the board room takes it
    down (`sperren`, with a reason for its author)."""
    if action == EntryAction.HIDE:
        await hide(ctx, number, reason or None)
    elif action == EntryAction.RENEW:
        await renew(ctx, number)
    else:
        await set_state(ctx, number, EntryState(action))


async def set_state(ctx: Context, number: int, state: EntryState) -> None:
    async with ctx.join_batch() as s:
        entry = await board.set_state(ctx, s, number, state)
    await ctx.reply("board.state_changed", **about(entry), state=state_text(ctx, entry.state).plain)


async def renew(ctx: Context, number: int) -> None:
    async with ctx.join_batch() as s:
        entry = await board.renew(ctx, s, number)
    await ctx.reply("board.renewed", **about(entry), until=ctx.short(entry.expires_at))


async def hide(ctx: Context, number: int, reason: str | None) -> None:
    async with ctx.join_batch() as s:
        hidden = await board.hide(ctx, s, number, reason)
    await ctx.reply("board.hidden_before" if hidden.before else "board.hidden_done", **about(hidden.entry))
