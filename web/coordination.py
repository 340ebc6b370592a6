"""The coordinators' forms: a new session (`/koordination`, `POST /termin/neu`: "Prüfen" shows how
the date is understood, "Speichern" creates it), `POST /termin/<N>/aendern` and
`POST /termin/<N>/absagen`. Each runs the use case of `!termin neu`, `!termin ändern` and
`!termin absagen`, which decides the role in the session's room: a form sent by someone who
does not coordinate there is refused like the command."""

from __future__ import annotations

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Fields, Refused, WebFace, page
from rules.rendering.coordination_page import MAX_FIELD, draft, new_session_page, room_choices
from rules.sessions import about, ref
from rules.voice import Voice
from services.changes import cancel_session, change_session
from services.sessions import new_session

BACK = "/ich#koordination"


def routes(face: WebFace) -> list[web.RouteDef]:
    async def form_page(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        visitor = await face.visitor(request)
        if visitor is None:
            return face.refused(voice, Refused("web.refused_signed_out", 401))
        rooms = room_choices(voice, face.coordinated_rooms(visitor.user_id))
        return page(new_session_page(voice, face.site(voice), rooms, visitor.csrf, draft(voice, {})))

    async def create(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        try:
            visitor, fields = await face.form(request)
        except Refused as refused:
            return face.refused(voice, refused)
        entered = draft(voice, fields)
        if fields.get("aktion") != "speichern":  # "Prüfen": the form again, with the date as understood
            rooms = room_choices(voice, face.coordinated_rooms(visitor.user_id))
            return page(new_session_page(voice, face.site(voice), rooms, visitor.csrf, entered))

        async def work(act: Acting, s: AsyncSession, _: Fields, say: Voice) -> str:
            session = await new_session(act, s, entered.fields(), entered.room_id)
            when = say.when(session.starts_at, session.ends_at)
            return say.t("web.note_created", **about(session), when=when).plain

        return await face.finish(request, visitor, voice, fields, work, BACK)

    async def change(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            changed = await change_session(act, s, number, fields.get("aenderungen", "")[:MAX_FIELD])
            key = "web.note_changed" if changed.changed else "coordination.unchanged"
            return say.t(key, ref=ref(number)).plain

        return await face.submit(request, work, BACK)

    async def cancel(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            reason = " ".join(fields.get("grund", "").split())[:MAX_FIELD]
            cancelled = await cancel_session(act, s, number, reason)
            return say.t("coordination.cancelled", **about(cancelled.session), count=cancelled.told).plain

        return await face.submit(request, work, BACK)

    number = "{number:[0-9]{1,9}}"
    return [
        web.get("/koordination", form_page),
        web.post("/termin/neu", create),
        web.post(f"/termin/{number}/aendern", change),
        web.post(f"/termin/{number}/absagen", cancel),
    ]
