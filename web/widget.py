"""The room widget (`!raum widget`): `/widget` inside Element signs the person in with a Matrix
OpenID token (`POST /widget/anmelden-mit-matrix`, checked with their homeserver) and then shows
the sessions ahead with a button each, as `/ich` does.

Only this page runs a script (`/widget.js`, from our own origin) and only it may be framed, by
the Matrix clients in `[web] widget_hosts`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.openid import NotVerified, openid_user
from bot.web_face import WebFace, page
from rules.rendering.personal_page import Form, WidgetState, personal_view, widget_page
from rules.voice import Voice
from storage import web_sessions
from storage.programme import personal_rows

log = logging.getLogger(__name__)

SCRIPT = (Path(__file__).parent / "static" / "widget.js").read_bytes()
MAX_BODY = 4096  # an OpenID token and a server name
BACK = "widget"


def widget_csp(hosts: tuple[str, ...], script: bool) -> str:
    """This page alone may be framed (by `hosts`), and run our own script while it signs in."""
    ancestors = " ".join(hosts) or "'none'"
    scripts = "script-src 'self'; connect-src 'self'; " if script else ""
    return (
        f"default-src 'none'; {scripts}style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )


def routes(face: WebFace) -> list[web.RouteDef]:
    hosts = face.web.widget_hosts
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(face.web.public_url))

    async def show(request: web.Request) -> web.StreamResponse:
        voice = face.voice(request)
        visitor = await face.visitor(request)
        if visitor is None:
            # Back from signing in without a session: the browser keeps no cookie in this frame.
            tried = "angemeldet" in request.query
            state = WidgetState(script=None if tried else f"{face.web.root}/widget.js", hosts=hosts)
            return page(widget_page(voice, face.site(voice), state), csp=widget_csp(hosts, not tried))
        async with face.db.reading() as s:
            rows = await personal_rows(s, visitor.user_id, voice.now, face.roles.official.all())
        view = personal_view(voice, visitor.user_id, rows)
        state = WidgetState(view, Form(visitor.csrf, BACK), face.take_note(visitor))
        return page(widget_page(voice, face.site(voice), state), csp=widget_csp(hosts, False))

    async def script(_request: web.Request) -> web.StreamResponse:
        headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
        return web.Response(body=SCRIPT, content_type="text/javascript", headers=headers)

    def refused(voice: Voice, key: str, status: int) -> web.Response:
        return web.json_response({"error": voice.t(key).plain}, status=status, headers={"Cache-Control": "no-store"})

    async def sign_in(request: web.Request) -> web.StreamResponse:
        """Take the widget's OpenID token, ask its homeserver whose it is, open a web session.
        Only JSON from our own page counts (a form of another site can send neither)."""
        voice = face.voice(request)
        if request.content_type != "application/json" or request.headers.get("Origin", origin) != origin:
            return refused(voice, "web.refused_csrf", 403)
        if (request.content_length or 0) > MAX_BODY:
            return refused(voice, "web.widget_failed", 413)
        try:
            sent = json.loads(await request.content.read(MAX_BODY))
            token, server = str(sent["access_token"]), str(sent["matrix_server_name"])
        except (ValueError, KeyError, TypeError):
            return refused(voice, "web.widget_failed", 400)
        if server not in face.config.matrix.allowed_servers:
            return refused(voice, "web.widget_server_refused", 403)
        try:
            user_id = await openid_user(face.config.matrix, server, token)
        except NotVerified as exc:
            log.info("widget sign-in refused: %s", exc)
            return refused(voice, "web.widget_token_refused", 403)
        async with face.db.transaction() as s:
            session = await web_sessions.open_session(s, user_id, face.clock())
        response = web.json_response({"signed_in": True}, headers={"Cache-Control": "no-store"})
        face.sign_in(response, session, framed=True)
        return response

    return [
        web.get("/widget", show),
        web.get("/widget.js", script),
        web.post("/widget/anmelden-mit-matrix", sign_in),
    ]
