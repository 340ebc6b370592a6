"""After the session: protocol link, material, follow-up messages, and the archive."""

from __future__ import annotations

from bot.arguments import Link, Rest, SessionRef
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from rules.dates import DateError, parse_when
from rules.errors import UserError
from rules.i18n import Message
from rules.sessions import about, ref
from rules.states import SessionStatus
from rules.timing import Kind
from storage import planned, registrations, sessions
from storage.models import Material
from storage.rows import save

router = Router("followups")
MAX_FOLLOWUP = 4000
MAX_MATERIAL_TITLE = 200


@router.command(
    "protokoll",
    aliases=("protocol", "minutes"),
    help="help.protocol",
    role=Role.COORDINATOR,
    args=[SessionRef(), Link("url", missing="followups.link_missing")],
)
async def protocol(ctx: Context, number: int, url: str) -> None:
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        if session.status == SessionStatus.CANCELLED:
            raise UserError("errors.session_cancelled", **about(session))
        session.protocol_url = url
        sessions.record_change(session, ["protocol_url"], ctx.now)
        await save(s, session)
        await planned.plan_once(
            s, Kind.PROTOCOL, session, f"{Kind.PROTOCOL}:{ctx.event_id}", ctx.now, ctx.now, {"url": url}
        )
        registered = len(await registrations.registered_user_ids(s, number))
    ctx.plans.changed(number)
    await ctx.reply("followups.protocol_saved", **about(session), count=registered)


@router.command(
    "material",
    aliases=("folien", "slides"),
    help="help.material",
    role=Role.COORDINATOR,
    args=[
        SessionRef(),
        Link("url", missing="followups.link_missing"),
        Rest(
            "title",
            "args.title",
            required=False,
            maximum=MAX_MATERIAL_TITLE,
            too_long="followups.material_title_too_long",
        ),
    ],
)
async def material(ctx: Context, number: int, url: str, title: str) -> None:
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        sessions.record_change(session, ["materials"], ctx.now)
        await save(s, session)
        await save(s, Material(session_id=number, url=url, title=title or None, added_by=ctx.sender, added_at=ctx.now))
        await planned.plan_once(
            s, Kind.MATERIAL, session, f"{Kind.MATERIAL}:{ctx.event_id}", ctx.now, ctx.now, {"url": url, "title": title}
        )
    ctx.plans.changed(number)
    await ctx.reply("followups.material_saved", **about(session))


@router.command(
    "nachbereitung",
    aliases=("followup",),
    help="help.followup",
    role=Role.COORDINATOR,
    args=[SessionRef(), Rest("text", "args.followup", missing="followups.text_missing")],
)
async def followup(ctx: Context, number: int, text: str) -> None:
    """`!nachbereitung #N Text` now, or `!nachbereitung #N Wann | Text` at that time."""
    when_text, bar, message = text.partition("|")
    if not bar:
        when_text, message = "", text
    message = message.strip()
    if not message:
        raise UserError("followups.text_missing")
    if len(message) > MAX_FOLLOWUP:
        raise UserError("followups.text_too_long", maximum=MAX_FOLLOWUP)
    due = ctx.now
    if when_text.strip():
        try:
            due = parse_when(when_text, ctx.now, ctx.timezone).start
        except DateError as exc:
            raise UserError(
                "followups.bad_when", when=when_text.strip(), problem=ctx.t(exc.key, **exc.params)
            ) from None
    async with ctx.join_batch() as s:
        session = await ctx.find_session(s, number)
        ctx.require(Role.COORDINATOR, session)
        await planned.plan_once(
            s, Kind.FOLLOWUP, session, f"{Kind.FOLLOWUP}:{ctx.event_id}", due, ctx.now, {"text": message}
        )
    ctx.plans.changed(number)
    if due > ctx.now:
        await ctx.reply("followups.followup_planned", **about(session), when=ctx.short(due))
    else:
        await ctx.reply("followups.followup_now", **about(session))


@router.command("archiv", aliases=("archive",), help="help.archive")
async def archive(ctx: Context) -> None:
    async with ctx.join_batch() as s:
        past = await sessions.past_sessions(s, ctx.now, scope=ctx.scope())
        materials = await sessions.materials(s, [x.id for x in past if x.id is not None])
    if not past:
        await ctx.reply("followups.archive_none")
        return
    lines = [ctx.t("followups.archive_head")]
    for session in past:
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
            for m in materials
            if m.session_id == session.id
        ]
    await ctx.reply(Message.join(lines))
