"""The web face: the programme, a person's own page, its forms and the room widget — thin like the
chat's commands: parse the request, call one use case (through `bot.web_face`), render its outcome.
No module of it imports another; `routes` gathers them for the assembly point (`bot/app.py`)."""

from __future__ import annotations

from aiohttp import web as aiohttp_web

from bot.web_face import WebFace


def routes(face: WebFace) -> list[aiohttp_web.RouteDef]:
    """Every page and form of the web face."""
    from web import (
        board,
        coordination,
        feedback,
        login,
        me,
        municipality,
        my_data,
        programme,
        registration,
        widget,
        wishes,
    )

    modules = (login, programme, me, registration, coordination, wishes, board, municipality, feedback, my_data, widget)
    return [route for module in modules for route in module.routes(face)]
