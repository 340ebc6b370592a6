"""The runtime of the web face (`web/`), as the dispatcher is the chat face's: who is signed in,
the CSRF token of a form, the message shown at the top of the next page, and running one use
case for a signed-in person.

A use case runs as in chat: an `Acting` for the person (no room: `room_id` ""), one transaction
that holds its changes and the messages it causes (written to the outbox), then, after the
commit, its plan changes passed on to the scheduler and its messages handed to delivery. The
flood guard counts each person's forms like their commands.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting, Plans, RoomInfo
from bot.config import Config, WebConfig
from bot.flood import FloodGuard, Verdict
from bot.roles import Role, Roles
from rules.errors import UserError
from rules.i18n import LANGUAGES
from rules.rendering.personal_page import Link, message_page
from rules.rendering.web_pages import Site, site_of
from rules.voice import Voice
from storage import outbox, web_sessions
from storage.db import Database
from storage.failures import is_transient
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

COOKIE = "regiobot_sitzung"
# Pages a form may lead back to (its field `weiter`), by name; any other leads to its default.
BACK = {"ich": "/ich", "widget": "/widget"}
BUSY_RETRY_SECONDS = 10  # what a form says when the database is away for a moment
NOTES_KEPT = 10_000  # messages waiting for the next page, beyond which the oldest are forgotten
Delivered = Callable[[list[OutboxMessage]], Awaitable[None]]
Fields = dict[str, str]
# A form's use case: run for the acting person with the form's fields; what the next page says, in
# the visitor's language (the last argument; the messages the use case queues for others are in
# the bot's own).
Work = Callable[[Acting, AsyncSession, Fields, Voice], Awaitable[str]]
T = TypeVar("T")


@dataclass(frozen=True)
class Visitor:
    """A person signed in on the web pages, by the session token in their cookie."""

    user_id: str
    token: str

    @property
    def csrf(self) -> str:
        """The token every form of this session carries (field `csrf`): derived from the session's
        secret, so no other site can know it."""
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()

    @property
    def key(self) -> str:
        """Names the session in memory without its secret."""
        return hashlib.sha256(self.token.encode()).hexdigest()


def preferred_language(accept_language: str | None, default: str) -> str:
    """The first of the catalogue's languages the browser asks for (by weight), else `default`."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().split("-")[0].lower()
        if language in LANGUAGES and weight > 0:
            weighted.append((-weight, position, language))
    return min(weighted)[2] if weighted else default


class Refused(Exception):
    """A form that is not run at all: no session, a wrong CSRF token, too many forms at once."""

    def __init__(self, key: str, status: int) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


class WebFace:
    """What every page and form of the web face uses (built once, by the assembly point)."""

    def __init__(
        self,
        config: Config,
        web_config: WebConfig,
        db: Database,
        roles: Roles,
        rooms: RoomInfo,
        plans: Plans,
        delivered: Delivered,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.web = web_config
        self.db = db
        self.roles = roles
        self.rooms = rooms
        self.plans = plans
        self.delivered = delivered
        self.clock = clock
        self.flood = FloodGuard(config.commands_per_minute, timedelta(minutes=1))
        self._notes: OrderedDict[str, str] = OrderedDict()

    def official_regions(self) -> dict[str, str | None]:
        """Every official room, with its region."""
        return {room_id: self.roles.official.region(room_id) for room_id in self.roles.official.all()}

    def coordinated_rooms(self, user_id: str) -> dict[str, str | None]:
        """The official rooms where the person coordinates (by the config or by power there), with
        their regions."""
        official = self.roles.official
        return {
            room_id: official.region(room_id)
            for room_id in official.all()
            if self.roles.in_room(room_id, user_id) >= Role.COORDINATOR
        }

    @property
    def secure(self) -> bool:
        """Whether the pages are reached by https (cookies are then marked Secure)."""
        return self.web.public_url.startswith("https://")

    def site(self, voice: Voice) -> Site:
        return site_of(voice, self.web.root, self.web.url)

    def voice(self, request: web.Request) -> Voice:
        """The bot's voice for this request: the browser's language if the catalogues have it."""
        language = preferred_language(request.headers.get("Accept-Language"), self.config.language)
        return Voice(language, self.config.command_prefix, self.config.timezone, self.clock())

    async def visitor(self, request: web.Request) -> Visitor | None:
        """Who is signed in (by the session cookie), or None."""
        token = request.cookies.get(COOKIE)
        if not token or len(token) > 100:
            return None
        async with self.db.reading() as s:
            user_id = await web_sessions.session_owner(s, token, self.clock())
        return Visitor(user_id, token) if user_id else None

    def sign_in(self, response: web.StreamResponse, token: str, *, framed: bool = False) -> None:
        """Put the session cookie on `response`: HttpOnly, SameSite=Strict (Secure behind https).
        In the room widget (`framed`, behind https) the page is another site's frame: the cookie
        is then SameSite=None and Partitioned, kept for that site alone."""
        max_age = int(web_sessions.SESSION_VALID.total_seconds())
        path = self.web.root or "/"
        if framed and self.secure:
            response.set_cookie(
                COOKIE, token, max_age=max_age, path=path, httponly=True, secure=True, samesite="None", partitioned=True
            )
            return
        response.set_cookie(
            COOKIE, token, max_age=max_age, path=path, httponly=True, secure=self.secure, samesite="Strict"
        )

    async def form(self, request: web.Request) -> tuple[Visitor, Fields]:
        """The signed-in person and the fields of their form, once its CSRF token is checked and
        the flood guard lets it through; refused otherwise."""
        visitor = await self.visitor(request)
        if visitor is None:
            raise Refused("web.refused_signed_out", 403)
        fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if not hmac.compare_digest(fields.get("csrf", ""), visitor.csrf):
            raise Refused("web.refused_csrf", 403)
        verdict = self.flood.check(visitor.user_id, self.clock())
        if verdict != Verdict.ALLOW:
            log.info("web form: %s (too many forms from one person)", verdict)
            raise Refused("web.refused_flood", 429)
        return visitor, fields

    async def run(self, visitor: Visitor, work: Callable[[Acting, AsyncSession], Awaitable[T]]) -> T:
        """Run a use case for the visitor: its changes and messages committed together, then its
        plans passed on and its messages delivered. A refusal (UserError) leaves nothing behind.
        It speaks the bot's configured language, as in chat: what it sends others is theirs."""
        act = Acting.begin(
            self.config,
            self.roles,
            self.rooms,
            sender=visitor.user_id,
            room_id="",
            request_id=f"web-{secrets.token_hex(8)}",
            now=self.clock(),
        )
        async with self.db.transaction() as s:
            result = await work(act, s)
            heads = await outbox.write(s, act.messages, act.now)
        act.committed(self.plans)
        await self.delivered(heads)
        return result

    @staticmethod
    def _failed(request: web.Request, voice: Voice, exc: Exception) -> str:
        """What a form that failed says: try again soon while the database is away for a moment
        (nothing was done), else a reference to the traceback in the log."""
        if is_transient(exc):
            log.warning("web form %s: the database is unavailable", request.path)
            return voice.t("web.busy", seconds=BUSY_RETRY_SECONDS).plain
        reference = secrets.token_hex(3).upper()
        log.exception("web form %s failed (Ref. %s)", request.path, reference, exc_info=exc)
        return voice.t("web.failed", reference=reference).plain

    def note(self, visitor: Visitor, message: str) -> None:
        """A message for the top of the visitor's next page (after the redirect of a form)."""
        self._notes[visitor.key] = message
        self._notes.move_to_end(visitor.key)
        while len(self._notes) > NOTES_KEPT:
            self._notes.popitem(last=False)

    def take_note(self, visitor: Visitor | None) -> str | None:
        """The message waiting for this visitor's page, if any (shown once)."""
        return self._notes.pop(visitor.key, None) if visitor else None

    def refused(self, voice: Voice, refused: Refused) -> web.Response:
        """The page for a form that was not run (no session, a wrong CSRF token, a flood)."""
        link = Link(f"{self.web.root}/ich", voice.t("web.back_to_me").plain)
        body = message_page(voice, self.site(voice), "web.refused_title", [voice.t(refused.key).plain], link)
        return page(body, refused.status)

    async def submit(self, request: web.Request, work: Work, back: str = "/ich") -> web.StreamResponse:
        """A form: checked (`form`), its use case run (`finish`)."""
        voice = self.voice(request)
        try:
            visitor, fields = await self.form(request)
        except Refused as refused:
            return self.refused(voice, refused)
        return await self.finish(request, visitor, voice, fields, work, back)

    async def finish(
        self, request: web.Request, visitor: Visitor, voice: Voice, fields: Fields, work: Work, back: str = "/ich"
    ) -> web.StreamResponse:
        """Run the form's use case; what it says (or its refusal) is the message of the page the
        form leads back to: the one its field `weiter` names (the widget), else `back`."""
        target = f"{self.web.root}{BACK.get(fields.get('weiter', ''), back)}"
        try:
            said = await self.run(visitor, lambda act, s: work(act, s, fields, voice))
        except UserError as error:
            said = voice.t(error.key, **error.params).plain
        except Exception as exc:
            said = self._failed(request, voice, exc)
        self.note(visitor, said)
        return see_other(target)


# Pages with forms post only to this site; nothing frames them; no script runs on them.
FORM_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HTML = "text/html; charset=utf-8"


def page(body: str, status: int = 200, *, private: bool = True, csp: str = FORM_PAGE_CSP) -> web.Response:
    """An HTML page of the web face, with its security headers; a `private` one (it shows the
    signed-in person's data, or a result meant for them) is never stored by a cache."""
    headers = {
        "Content-Type": HTML,
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store" if private else "public, max-age=60",
    }
    return web.Response(status=status, body=body.encode(), headers=headers)


def see_other(location: str) -> web.Response:
    """The answer to a form: go (GET) to `location`, where its outcome is shown."""
    return web.Response(
        status=303, headers={"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
