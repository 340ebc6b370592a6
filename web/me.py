"""`/ich`: the signed-in person's own page — their registrations and waiting places, and a button
on every session ahead. Without a session it says how to sign in."""

from __future__ import annotations

from aiohttp import web

from bot.web_face import WebFace, page
from rules.personal_page import Form, me, me_page, message_page
from rules.programme_page import Filters, programme
from rules.session_fields import REGIONS
from rules.states import RegistrationStatus
from storage import registrations
from storage.programme import programme_rows

BACK = "ich"


def routes(face: WebFace) -> list[web.RouteDef]:
    async def show(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        visitor = await face.visitor(request)
        if visitor is None:
            body = message_page(
                voice, face.site(voice), "web.signed_out_title", [voice.t("web.refused_signed_out").plain]
            )
            return page(body, 401)
        async with face.db.transaction() as s:
            rows = await programme_rows(s, voice.now, face.roles.official.all(), Filters())
            mine = await registrations.my_registrations(s, visitor.user_id, voice.now)
        official = set(face.roles.official.all())
        held = [
            (r.session.number, r.session.title, r.session.starts_at, RegistrationStatus(r.status), r.position)
            for r in mine
            if r.session.starts_at > voice.now and r.session.room_id in official
        ]
        content = programme(voice, rows.summaries, rows.series_titles, [], [], Filters(), (), tuple(REGIONS.values()))
        person = me(voice, visitor.user_id, held)
        body = me_page(voice, person, content, face.site(voice), Form(visitor.csrf, BACK), face.take_note(visitor))
        return page(body)

    return [web.get("/ich", show)]
