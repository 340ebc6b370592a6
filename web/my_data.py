"""What a person does about their own data on `/ich`: the personal calendar's secret address
(`POST /kalender/abonnieren`, sent by the bot's direct chat as with `!kalender abonnieren`),
everything stored about them as a file (`GET /ich/daten`, as `!meine-daten`), and deleting it
(`POST /ich/daten-loeschen`, confirmed by a checkbox, as `!daten-löschen ja`; it signs out too)."""

from __future__ import annotations

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import COOKIE, Fields, Refused, WebFace, page, see_other
from rules.rendering.personal_page import Link, message_page
from rules.voice import Voice
from services import calendar_feed
from services.privacy import delete_my_data, my_data

BACK = "/ich#daten"


def routes(face: WebFace) -> list[web.RouteDef]:
    async def subscribe(request: web.Request) -> web.StreamResponse:
        async def work(act: Acting, s: AsyncSession, _: Fields, say: Voice) -> str:
            await calendar_feed.subscribe(act, s)
            return say.t("calendar.sent_privately").plain

        return await face.submit(request, work, BACK)

    async def download(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        visitor = await face.visitor(request)
        if visitor is None:
            return face.refused(voice, Refused("web.refused_signed_out", 401))
        exported = await face.run(visitor, my_data)
        headers = {
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        }
        return web.Response(body=exported.data, content_type=exported.mimetype, headers=headers)

    async def delete(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        try:
            visitor, fields = await face.form(request)
        except Refused as refused:
            return face.refused(voice, refused)
        if fields.get("bestaetigen") != "ja":
            face.note(visitor, voice.t("web.note_delete_unconfirmed").plain)
            return see_other(f"{face.web.root}{BACK}")
        deleted = await face.run(visitor, delete_my_data)
        said = voice.t("privacy.deleted", registrations=deleted.registrations, answers=deleted.answers).plain
        link = Link(f"{face.web.root}/programm", voice.t("web.back_to_programme").plain)
        response = page(message_page(voice, face.site(voice), "web.deleted_title", [said], link))
        response.del_cookie(COOKIE, path=face.web.root or "/")
        return response

    return [
        web.post("/kalender/abonnieren", subscribe),
        web.get("/ich/daten", download),
        web.post("/ich/daten-loeschen", delete),
    ]
