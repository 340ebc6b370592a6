"""!status for coordinators: what the bot will post next, and what went wrong lately."""

from __future__ import annotations

from bot.context import Context
from rules.board import entry_ref
from rules.i18n import Message
from rules.sessions import ref
from services.status import report
from storage.models import OutboxMessage, OutboxStatus, PlannedMessage

# Why a message was skipped (see storage.planned and rules.timing), in words.
REASONS = ("moved", "cancelled", "skip_started", "skip_too_late", "board_closed")


def reason_text(ctx: Context, last_error: str | None) -> Message | str:
    """Why, in words. The homeserver's own error text stays in the database and the log."""
    if last_error is None:
        return "–"
    return ctx.t(f"status.reason_{last_error if last_error in REASONS else 'refused'}")


def planned_line(ctx: Context, row: PlannedMessage, key: str) -> Message:
    return ctx.t(
        key,
        kind=ctx.t(f"planned.kind_{row.kind}"),
        ref=ref(row.session_id) if row.session_id is not None else entry_ref(row.entry_id),
        due=ctx.short(row.due_at),
        status=ctx.t(f"status.state_{row.status}"),
        attempts=row.attempts,
        reason=reason_text(ctx, row.last_error),
    )


async def status(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        found = await report(ctx, s)
    lines = [ctx.t("status.next_head")]
    lines += [planned_line(ctx, row, "status.next_line") for row in found.upcoming] or [ctx.t("status.next_none")]
    lines.append(ctx.t("status.trouble_head"))
    lines += [planned_line(ctx, row, "status.trouble_line") for row in found.troubled] or [ctx.t("status.trouble_none")]
    lines.append(ctx.t("status.delivery_head"))
    if found.backlog.pending:
        oldest = ctx.short(found.backlog.oldest) if found.backlog.oldest else "–"
        lines.append(ctx.t("status.delivery_waiting", count=found.backlog.pending, oldest=oldest))
    lines += [delivery_line(ctx, row) for row in found.undelivered] or [ctx.t("status.delivery_none")]
    if found.rate_limited is not None:
        lines.append(ctx.t("status.rate_limited", last=ctx.short(found.rate_limited)))
    await ctx.reply(Message.join(lines))


def delivery_line(ctx: Context, row: OutboxMessage) -> Message:
    """A message that could not be delivered (yet): when, where, and what happens next."""
    where = row.room_id if row.user_id is None else ctx.t("outbox.direct_message").plain
    if row.status == OutboxStatus.FAILED:
        state = ctx.t("status.delivery_failed", reason=ctx.t("status.reason_refused"))
    else:
        state = ctx.t("status.delivery_retrying", next=ctx.short(row.next_attempt_at or ctx.now))
    return ctx.t(
        "status.delivery_line", created=ctx.short(row.created_at), where=where, state=state, attempts=row.attempts
    )
