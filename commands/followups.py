"""After the session: protocol link, material, follow-up messages, and the archive. The use cases
are in `services.followups`."""

from __future__ import annotations

from bot.context import Context
from rules.i18n import Message
from rules.sessions import about, ref
from services.followups import add_material, archive, plan_followup, save_protocol


async def protocol(ctx: Context, number: int, url: str) -> None:
    async with ctx.join_batch() as s:
        saved = await save_protocol(ctx, s, number, url)
    await ctx.reply("followups.protocol_saved", **about(saved.session), count=saved.registered)


async def material(ctx: Context, number: int, url: str, title: str) -> None:
    async with ctx.join_batch() as s:
        session = await add_material(ctx, s, number, url, title)
    await ctx.reply("followups.material_saved", **about(session))


async def followup(ctx: Context, number: int, text: str) -> None:
    """`!nachbereitung #N Text` now, or `!nachbereitung #N Wann | Text` at that time."""
    async with ctx.join_batch() as s:
        planned = await plan_followup(ctx, s, number, text)
    if planned.due > ctx.now:
        await ctx.reply("followups.followup_planned", **about(planned.session), when=ctx.short(planned.due))
    else:
        await ctx.reply("followups.followup_now", **about(planned.session))


async def archive_command(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        past = await archive(ctx, s)
    if not past.sessions:
        await ctx.reply("followups.archive_none")
        return
    lines = [ctx.t("followups.archive_head")]
    for session in past.sessions:
        lines.append(
            ctx.t("followups.archive_line", ref=ref(session.id), title=session.title, date=ctx.short(session.starts_at))
        )
        lines.append(
            ctx.t("followups.archive_protocol", url=session.protocol_url)
            if session.protocol_url
            else ctx.t("followups.archive_no_protocol")
        )
        lines += [
            ctx.t("followups.archive_material", label=m.title or m.url, url=m.url)
            for m in past.materials
            if m.session_id == session.id
        ]
    await ctx.reply(Message.join(lines))
