"""The bot's web server (`[web] listen`): calendar feeds to subscribe to and the public pages.

- `/kalender.ics`, `/kalender/<region>.ics`: upcoming and recent sessions of official rooms
  (of one region: its own and those for both), cancelled ones included;
- `/kalender/p/<token>.ics`: one person's registrations (the token is a secret, kept hashed);
- `/archiv`, `/termin/<N>`: past sessions by year and region, one session.

Every answer carries an ETag (a hash of the body) and, where known, Last-Modified (the latest
change among what it shows), so calendar programs that poll get `304 Not Modified` while
nothing changed. Sessions outside official rooms do not exist here, like everywhere else.

It reads without the write lock (`Database.reading`), renders each answer once per change of
what it shows (`bot.web_cache`), and limits what anyone can ask of it: a small request body, a
rate per client address (429 beyond it), and a few renders at a time (503 when they are taken
for too long).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web
from sqlmodel import SQLModel

from bot.acting import voice_of
from bot.config import Config, WebConfig
from bot.rooms import OfficialRooms
from bot.throttle import AddressBuckets, client_address
from bot.web_cache import FeedCache, Page, PageCache
from rules.i18n import bilingual
from rules.rendering.calendar_file import FeedEntry
from rules.rendering.web_pages import (
    Site,
    archive_page,
    archive_years,
    not_found_page,
    session_card,
    session_page,
    site_of,
)
from rules.session_fields import REGIONS
from storage import calendar_tokens, feedback, sessions
from storage.db import Database
from storage.models import CalendarToken, FeedbackPublished, Material, Registration, RegistrationStatus, Session
from storage.sessions import Scope

log = logging.getLogger(__name__)

# How far back a feed reaches: sessions that ended longer ago drop out of it.
FEED_PAST = timedelta(days=180)
ARCHIVE_LIMIT = 1000
CALENDAR = "text/calendar; charset=utf-8"
HTML = "text/html; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"
TOKEN = "[A-Za-z0-9_-]{20,100}"
# Last-Modified counts in whole seconds: a change within the last second is not named yet (another
# change in the same second would carry the same date), so no client can hold a date that hides it.
STRONG_AFTER = timedelta(seconds=1)
# The pages need nothing but their own inline style: no scripts, frames, forms or outside resources.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MAX_BODY = 16 * 1024  # bytes a request may carry (these addresses take none)
RATE = 2.0  # requests a second per client address, after a burst of
BURST = 60.0  # (a person reading pages or a calendar polling never comes near; a flood does)
RENDERS = 4  # answers read and rendered at a time; further requests wait for a turn
RENDER_WAIT = 10.0  # seconds a request waits for its turn before it gets 503
# The tables each kind of answer reads: a write to one of them may change it.
PAGE_TABLES: tuple[type[SQLModel], ...] = (Session, Material, FeedbackPublished)
FEED_TABLES: tuple[type[SQLModel], ...] = (Session,)
PERSONAL_TABLES: tuple[type[SQLModel], ...] = (Session, Registration, CalendarToken)

Render = Callable[[datetime], Awaitable[Page]]


def not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: datetime | None
) -> bool:
    """Whether a conditional GET may be answered with 304 (RFC 9110: If-None-Match decides when
    given; If-Modified-Since only without it)."""
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if if_modified_since is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def plain(status: int, text: str, **headers: str) -> web.Response:
    """A short answer in both languages, as plain text."""
    return web.Response(status=status, text=text, headers={"Content-Type": PLAIN, **SECURITY_HEADERS, **headers})


class WebServer:
    """The HTTP listener for the feeds and pages."""

    def __init__(
        self,
        config: Config,
        web_config: WebConfig,
        db: Database,
        official: OfficialRooms,
        clock: Callable[[], datetime],
        routes: Iterable[web.AbstractRouteDef] = (),
    ) -> None:
        """`routes`: the pages and forms of the web face (`web/`), added by the assembly point."""
        self.config = config
        self.web = web_config
        self.host, self.port = web_config.listen
        self.db = db
        self.official = official
        self.clock = clock
        self.feeds = FeedCache()
        self.pages = PageCache()  # the public answers, apart from the personal feeds: no one can crowd them out
        self.personal = PageCache()
        self.buckets = AddressBuckets(RATE, BURST)
        self._renders = asyncio.Semaphore(RENDERS)
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._limits])
        app.router.add_get("/kalender.ics", self._feed)
        app.router.add_get(f"/kalender/p/{{token:{TOKEN}}}.ics", self._personal_feed)
        app.router.add_get("/kalender/{region:[a-z]+}.ics", self._feed)
        app.router.add_get("/archiv", self._archive)
        app.router.add_get("/termin/{number:[0-9]{1,9}}", self._session)
        app.router.add_get("/", self._home)
        app.add_routes(routes)
        self._runner = web.AppRunner(app, access_log=None)  # feed addresses hold secrets: never logged

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("calendar feeds and pages on http://%s:%d (public address %s)", self.host, self.port, self.web.url(""))

    async def stop(self) -> None:
        await self._runner.cleanup()

    @web.middleware
    async def _limits(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Refuse a body larger than MAX_BODY (413) and a client over its rate (429), before any work."""
        if (request.content_length or 0) > MAX_BODY:
            return plain(413, bilingual("web.too_large"))
        client = client_address(request.remote, request.headers.get("X-Forwarded-For"), self.web.trusted_proxies)
        wait = self.buckets.take(client, time.monotonic())
        if wait > 0:
            seconds = math.ceil(wait)
            return plain(429, bilingual("web.too_many_requests", seconds=seconds), **{"Retry-After": str(seconds)})
        return await handler(request)

    def _site(self) -> Site:
        """What every page links to: the pages below the public address's path, and the feeds."""
        return site_of(voice_of(self.config, self.clock()), self.web.root, self.web.url)

    async def _cached(
        self,
        request: web.Request,
        resource: Hashable,
        tables: tuple[type[SQLModel], ...],
        render: Render,
        cache: PageCache | None = None,
    ) -> web.Response:
        """The answer for `resource`: as rendered before (kept in `cache`, the public pages' by
        default) while none of `tables` and no official room changed since and its time has not
        run out, else read and rendered now, a few at a time. Only found pages are kept: asking
        for what does not exist crowds nothing out."""
        pages = self.pages if cache is None else cache
        marker = (self.db.versions(*tables), tuple(self.official.all()))  # taken before reading
        page = pages.get(resource, marker, self.clock())
        if page is None:
            try:
                await asyncio.wait_for(self._renders.acquire(), RENDER_WAIT)
            except TimeoutError:
                seconds = math.ceil(RENDER_WAIT)
                return plain(503, bilingual("web.busy", seconds=seconds), **{"Retry-After": str(seconds)})
            try:
                page = pages.get(resource, marker, self.clock())  # another request's render meanwhile
                if page is None:
                    page = await render(self.clock())
                    if page.status == 200:
                        pages.put(resource, marker, page)
            finally:
                self._renders.release()
        return self._answer(request, page)

    def _answer(self, request: web.Request, page: Page) -> web.Response:
        """The page, or 304 when the request's conditions say the client has it already."""
        if page.status != 200:
            return web.Response(
                status=page.status, body=page.body, headers={"Content-Type": page.content_type, **SECURITY_HEADERS}
            )
        headers = {"ETag": page.etag, "Cache-Control": page.cache, **SECURITY_HEADERS}
        last_modified = page.last_modified
        if last_modified is not None and self.clock() - last_modified >= STRONG_AFTER:
            headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
        if not_modified(
            request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"), page.etag, last_modified
        ):
            return web.Response(status=304, headers=headers)
        return web.Response(body=page.body, headers={**headers, "Content-Type": page.content_type})

    def _not_found(self, now: datetime) -> Page:
        page = not_found_page(voice_of(self.config, now), self._site())
        return Page(page.encode(), HTML, status=404)

    async def _feed(self, request: web.Request) -> web.Response:
        slug = request.match_info.get("region")
        region = REGIONS.get(slug) if slug else None

        async def render(now: datetime) -> Page:
            if slug and region is None:
                return self._not_found(now)
            async with self.db.reading() as s:
                found = await sessions.feed_sessions(s, now - FEED_PAST, Scope(self.official.all(), region))
            voice = voice_of(self.config, now)
            name = voice.t("web.feed_name_region", region=region) if region else voice.t("web.feed_name")
            entries = [FeedEntry(x, x.changed_at) for x in found]
            body = self.feeds.render(entries, name.plain, self.config.timezone, self.config.matrix.server_name)
            last = max((e.changed_at for e in entries), default=None)
            return Page(body, CALENDAR, last, _first_to_leave(found))

        return await self._cached(request, ("feed", slug), FEED_TABLES, render)

    async def _personal_feed(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]

        async def render(now: datetime) -> Page:
            async with self.db.reading() as s:
                user_id = await calendar_tokens.owner(s, token)
                if user_id is None:
                    return self._not_found(now)
                held = await calendar_tokens.registered_sessions(s, user_id, now - FEED_PAST, self.official.all())
                own_change = await calendar_tokens.last_change(s, user_id)
            entries = [
                FeedEntry(x, max(x.changed_at, r.updated_at), waiting=r.status == RegistrationStatus.WAITLISTED)
                for x, r in held
            ]
            name = voice_of(self.config, now).t("web.feed_name_personal").plain
            body = self.feeds.render(entries, name, self.config.timezone, self.config.matrix.server_name, alarms=True)
            moments = [e.changed_at for e in entries] + ([own_change] if own_change else [])
            left = _first_to_leave([x for x, _ in held])
            return Page(body, CALENDAR, max(moments, default=None), left, cache="private, max-age=300")

        return await self._cached(request, token, PERSONAL_TABLES, render, self.personal)

    async def _home(self, _request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{self.web.root}/archiv")

    async def _archive(self, request: web.Request) -> web.Response:
        async def render(now: datetime) -> Page:
            scope = Scope(self.official.all())
            async with self.db.reading() as s:
                past = await sessions.past_sessions(s, now, limit=ARCHIVE_LIMIT, scope=scope)
                materials = await sessions.materials(s, [x.number for x in past])
                totals = await feedback.published_totals(s, [x.number for x in past])
                next_past = await sessions.next_end(s, now, scope)
            voice = voice_of(self.config, now)
            page = archive_page(voice, archive_years(voice, past, materials, totals), self._site())
            return Page(page.encode(), HTML, max((x.changed_at for x in past), default=None), next_past)

        return await self._cached(request, "archive", PAGE_TABLES, render)

    async def _session(self, request: web.Request) -> web.Response:
        number = int(request.match_info["number"])

        async def render(now: datetime) -> Page:
            async with self.db.reading() as s:
                session = await sessions.get_session(s, number)
                if session is None or not self.official.is_official(session.room_id):
                    return self._not_found(now)
                materials = await sessions.materials(s, [number])
                totals = (await feedback.published_totals(s, [number])).get(number)
            voice = voice_of(self.config, now)
            page = session_page(voice, session_card(voice, session, materials, totals), self._site())
            return Page(page.encode(), HTML, session.changed_at)

        return await self._cached(request, ("session", number), PAGE_TABLES, render)


def _first_to_leave(found: list[Session]) -> datetime | None:
    """When the first of a feed's sessions drops out of it (FEED_PAST after its end)."""
    return min((x.ends_at + FEED_PAST for x in found), default=None)
