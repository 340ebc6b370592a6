"""The coordinators' forms: a new session (`/koordination`, `POST /termin/neu`: "Prüfen" shows how
the date is understood, "Speichern" creates it), `POST /termin/<N>/aendern` and
`POST /termin/<N>/absagen`. Each runs the use case of `!termin neu`, `!termin ändern` and
`!termin absagen`, which decides the role in the session's room: a form sent by someone who
does not coordinate there is refused like the command."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Refused, Visitor, WebFace, page, see_other
from rules.coordination_page import MAX_FIELD, draft, new_session_page, room_choices
from rules.errors import UserError
from rules.personal_page import Link, message_page
from rules.sessions import about, ref
from rules.voice import Voice
from services.changes import cancel_session, change_session
from services.sessions import new_session

log = logging.getLogger(__name__)

Work = Callable[[Acting, AsyncSession], Awaitable[str]]


def routes(face: WebFace) -> list[web.RouteDef]:
    back = f"{face.web.root}/ich#koordination"

    def refusal(voice: Voice, refused: Refused) -> web.StreamResponse:
        link = Link(f"{face.web.root}/ich", voice.t("web.back_to_me").plain)
        body = message_page(voice, face.site(voice), "web.refused_title", [voice.t(refused.key).plain], link)
        return page(body, refused.status)

    async def run(visitor: Visitor, voice: Voice, work: Work) -> web.StreamResponse:
        """Run the use case; its outcome or refusal becomes the message of the next page."""
        try:
            face.note(visitor, await face.run(visitor, voice, work))
        except UserError as error:
            face.refusal_note(visitor, voice, error)
        except Exception:
            reference = secrets.token_hex(3).upper()
            log.exception("coordination form failed (Ref. %s)", reference)
            face.note(visitor, voice.t("web.failed", reference=reference).plain)
        return see_other(back)

    async def form_page(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        visitor = await face.visitor(request)
        if visitor is None:
            return refusal(voice, Refused("web.refused_signed_out", 401))
        rooms = room_choices(voice, face.coordinated_rooms(visitor.user_id))
        return page(new_session_page(voice, face.site(voice), rooms, visitor.csrf, draft(voice, {})))

    async def create(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        try:
            visitor, fields = await face.form(request)
        except Refused as refused:
            return refusal(voice, refused)
        entered = draft(voice, fields)
        if fields.get("aktion") != "speichern":  # "Prüfen": the form again, with the date as understood
            rooms = room_choices(voice, face.coordinated_rooms(visitor.user_id))
            return page(new_session_page(voice, face.site(voice), rooms, visitor.csrf, entered))

        async def work(act: Acting, s: AsyncSession) -> str:
            session = await new_session(act, s, entered.fields(), entered.room_id)
            when = act.when(session.starts_at, session.ends_at)
            return act.t("web.note_created", **about(session), when=when).plain

        return await run(visitor, voice, work)

    async def change(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        try:
            visitor, fields = await face.form(request)
        except Refused as refused:
            return refusal(voice, refused)
        number = int(request.match_info["number"])
        changes = fields.get("aenderungen", "")[:MAX_FIELD]

        async def work(act: Acting, s: AsyncSession) -> str:
            changed = await change_session(act, s, number, changes)
            key = "web.note_changed" if changed.changed else "coordination.unchanged"
            return act.t(key, ref=ref(number)).plain

        return await run(visitor, voice, work)

    async def cancel(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        try:
            visitor, fields = await face.form(request)
        except Refused as refused:
            return refusal(voice, refused)
        number = int(request.match_info["number"])
        reason = " ".join(fields.get("grund", "").split())[:MAX_FIELD]

        async def work(act: Acting, s: AsyncSession) -> str:
            cancelled = await cancel_session(act, s, number, reason)
            return act.t("coordination.cancelled", **about(cancelled.session), count=cancelled.told).plain

        return await run(visitor, voice, work)

    number = "{number:[0-9]{1,9}}"
    return [
        web.get("/koordination", form_page),
        web.post("/termin/neu", create),
        web.post(f"/termin/{number}/aendern", change),
        web.post(f"/termin/{number}/absagen", cancel),
    ]
