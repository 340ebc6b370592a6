"""After the session: protocol link, material, follow-up messages, and the archive."""

from __future__ import annotations

from bot.dispatch import Context, Router
from bot.i18n import Message
from bot.roles import Role
from commands.dates import DateError, format_short, parse_when
from commands.errors import UserError
from commands.planning import plan_once
from commands.session_fields import parse_link
from commands.sessions import find_session, require_ref
from commands.timing import Kind
from storage import repo
from storage.models import Material, SessionStatus

router = Router("followups")
MAX_FOLLOWUP = 4000
MAX_MATERIAL_TITLE = 200


def split_link(rest: str, usage: str) -> tuple[str, str]:
    """'https://… Folien Teil 1' → (link, 'Folien Teil 1'); the link is checked."""
    parts = rest.split(None, 1)
    if not parts:
        raise UserError("followups.link_missing", usage=usage)
    return parse_link(parts[0]), parts[1].strip() if len(parts) > 1 else ""


@router.command("protokoll", aliases=("protocol", "minutes"), help="help.protocol", role=Role.COORDINATOR)
async def protocol(ctx: Context, args: str) -> None:
    usage = f"{ctx.prefix}protokoll #N https://…"
    number, rest = require_ref(args, usage)
    url, _ = split_link(rest, usage)
    async with ctx.db.transaction() as s:
        session = await find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        if session.status == SessionStatus.CANCELLED:
            raise UserError("errors.session_cancelled", ref=f"#{session.id}", title=session.title)
        session.protocol_url = url
        s.add(session)
        await plan_once(s, Kind.PROTOCOL, session, f"{Kind.PROTOCOL}:{ctx.event_id}", ctx.now, ctx.now, {"url": url})
        registered = len(await repo.registered_user_ids(s, session.id))
    ctx.plans.changed(session.id)
    await ctx.reply("followups.protocol_saved", ref=f"#{session.id}", title=session.title, count=registered)


@router.command("material", aliases=("folien", "slides"), help="help.material", role=Role.COORDINATOR)
async def material(ctx: Context, args: str) -> None:
    usage = f"{ctx.prefix}material #N https://… Folien"
    number, rest = require_ref(args, usage)
    url, title = split_link(rest, usage)
    if len(title) > MAX_MATERIAL_TITLE:
        raise UserError("fields.too_long", field="Titel", maximum=MAX_MATERIAL_TITLE)
    async with ctx.db.transaction() as s:
        session = await find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        await repo.add_material(s, Material(session_id=session.id, url=url, title=title or None,
                                            added_by=ctx.sender, added_at=ctx.now))
        await plan_once(s, Kind.MATERIAL, session, f"{Kind.MATERIAL}:{ctx.event_id}", ctx.now, ctx.now,
                        {"url": url, "title": title})
    ctx.plans.changed(session.id)
    await ctx.reply("followups.material_saved", ref=f"#{session.id}", title=session.title)


@router.command("nachbereitung", aliases=("followup",), help="help.followup", role=Role.COORDINATOR)
async def followup(ctx: Context, args: str) -> None:
    number, rest = require_ref(args, f"{ctx.prefix}nachbereitung #N Text")
    when_text, bar, text = rest.partition("|")
    if not bar:
        when_text, text = "", rest
    text = text.strip()
    if not text:
        raise UserError("followups.text_missing")
    if len(text) > MAX_FOLLOWUP:
        raise UserError("fields.too_long", field="Text", maximum=MAX_FOLLOWUP)
    due = ctx.now
    if when_text.strip():
        try:
            due = parse_when(when_text, ctx.now, ctx.config.timezone).start
        except DateError as exc:
            raise UserError("followups.bad_when", when=when_text.strip(), problem=ctx.t(exc.key, **exc.params)) from None
    async with ctx.db.transaction() as s:
        session = await find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        await plan_once(s, Kind.FOLLOWUP, session, f"{Kind.FOLLOWUP}:{ctx.event_id}", due, ctx.now, {"text": text})
    ctx.plans.changed(session.id)
    if due > ctx.now:
        await ctx.reply("followups.followup_planned", ref=f"#{session.id}", title=session.title,
                        when=format_short(due, ctx.config.timezone, ctx.language))
    else:
        await ctx.reply("followups.followup_now", ref=f"#{session.id}", title=session.title)


@router.command("archiv", aliases=("archive",), help="help.archive")
async def archive(ctx: Context, args: str) -> None:
    async with ctx.db.transaction() as s:
        sessions = await repo.past_sessions(s, ctx.now)
        materials = await repo.materials(s, [x.id for x in sessions if x.id is not None])
    if not sessions:
        await ctx.reply("followups.archive_none")
        return
    lines = [ctx.t("followups.archive_head")]
    for session in sessions:
        lines.append(ctx.t("followups.archive_line", ref=f"#{session.id}", title=session.title,
                           date=format_short(session.starts_at, ctx.config.timezone, ctx.language)))
        lines.append(ctx.t("followups.archive_protocol", url=session.protocol_url) if session.protocol_url
                     else ctx.t("followups.archive_no_protocol"))
        lines += [ctx.t("followups.archive_material", label=m.title or m.url, url=m.url)
                  for m in materials if m.session_id == session.id]
    await ctx.reply(Message.join(lines))
