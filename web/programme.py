"""`/programm`: what is coming up, for everyone (official rooms only, no person named)."""

from __future__ import annotations

from aiohttp import web

from bot.web_face import WebFace, page
from rules.rendering.programme_page import Filters, programme, programme_page
from rules.session_fields import REGIONS
from storage.programme import programme_rows

MAX_SEARCH = 200


def filters_of(request: web.Request, categories: tuple[str, ...]) -> Filters:
    """The filters asked for; an unknown region or category is no filter."""
    region = request.query.get("region", "")
    category = request.query.get("kategorie", "")
    return Filters(
        region if region in REGIONS.values() else None,
        category if category in categories else None,
        " ".join(request.query.get("suche", "").split())[:MAX_SEARCH],
    )


def routes(face: WebFace) -> list[web.RouteDef]:
    async def show(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        categories = face.config.board.categories
        filters = filters_of(request, categories)
        async with face.db.reading() as s:
            rows = await programme_rows(s, voice.now, face.roles.official.all(), filters)
        content = programme(
            voice,
            rows.summaries,
            rows.series_titles,
            rows.wishes,
            rows.entries,
            filters,
            categories,
            tuple(REGIONS.values()),
        )
        return page(programme_page(voice, content, face.site(voice)), private=False)

    return [web.get("/programm", show)]
