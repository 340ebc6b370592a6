"""`/ich`: the signed-in person's own page — their registrations and waiting places, and a button
on every session ahead; for coordinators, the sessions of their rooms with their counts and forms
to change or cancel them. Without a session it says how to sign in."""

from __future__ import annotations

from aiohttp import web

from bot.web_face import WebFace, page
from rules.rendering.coordination_page import coordinated, room_choices
from rules.rendering.personal_page import Form, me_page, message_page, personal_view
from storage.programme import personal_rows

BACK = "ich"


def routes(face: WebFace) -> list[web.RouteDef]:
    async def show(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        visitor = await face.visitor(request)
        if visitor is None:
            lines = [voice.t("web.refused_signed_out").plain]
            return page(message_page(voice, face.site(voice), "web.signed_out_title", lines), 401)
        async with face.db.reading() as s:
            rows = await personal_rows(s, visitor.user_id, voice.now, face.roles.official.all())
        rooms = face.coordinated_rooms(visitor.user_id)
        counts = coordinated(voice, rows.summaries, list(rooms)) if rooms else None
        view = personal_view(
            voice,
            visitor.user_id,
            rows,
            counts,
            room_choices(voice, face.official_regions()),
            face.config.board.categories,
        )
        body = me_page(voice, view, face.site(voice), Form(visitor.csrf, BACK), face.take_note(visitor))
        return page(body)

    return [web.get("/ich", show)]
