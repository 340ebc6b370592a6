"""Signing in with the one-time link of `!web` (`/login/<token>`) and signing out this browser
(`POST /abmelden`)."""

from __future__ import annotations

from aiohttp import web

from bot.web_face import COOKIE, Refused, WebFace, page, see_other
from rules.rendering.personal_page import Link, message_page
from storage import web_sessions

TOKEN = "[A-Za-z0-9_-]{20,100}"


def routes(face: WebFace) -> list[web.RouteDef]:
    async def log_in(request: web.Request) -> web.StreamResponse:
        """Redeem the link (once, within ten minutes) and open a session. Opened from another
        site (a link in a chat client), the way on to /ich is a page of this site, so that the
        browser sends the new SameSite=Strict cookie with it; opened directly, a redirect."""
        voice = face.voice(request)
        now = face.clock()
        async with face.db.transaction() as s:
            user_id = await web_sessions.redeem_login(s, request.match_info["token"], now)
            token = await web_sessions.open_session(s, user_id, now) if user_id else None
        site = face.site(voice)
        if token is None:
            lines = [voice.t("web.login_failed").plain, voice.t("web.login_again").plain]
            body = message_page(voice, site, "web.login_failed_title", lines)
            return page(body, 410)
        target = f"{face.web.root}/ich"
        response: web.StreamResponse
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            link = Link(target, voice.t("web.go_to_me").plain)
            body = message_page(voice, site, "web.signed_in_title", [voice.t("web.signed_in").plain], link, target)
            response = page(body)
        else:
            response = see_other(target)
        face.sign_in(response, token)
        return response

    async def log_out(request: web.Request) -> web.StreamResponse:
        """End this browser's session (the form on /ich)."""
        try:
            visitor, _ = await face.form(request)
        except Refused:
            return see_other(f"{face.web.root}/programm")
        async with face.db.transaction() as s:
            await web_sessions.end_session(s, visitor.token)
        response = see_other(f"{face.web.root}/programm")
        response.del_cookie(COOKIE, path=face.web.root or "/")
        return response

    return [web.get(f"/login/{{token:{TOKEN}}}", log_in), web.post("/abmelden", log_out)]
