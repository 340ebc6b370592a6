"""The bot's web server (`[web] listen`): calendar feeds to subscribe to and the public pages.

- `/kalender.ics`, `/kalender/<region>.ics`: upcoming and recent sessions of official rooms
  (of one region: its own and those for both), cancelled ones included;
- `/kalender/p/<token>.ics`: one person's registrations (the token is a secret, kept hashed);
- `/archiv`, `/termin/<N>`: past sessions by year and region, one session.

Every answer carries an ETag (a hash of the body) and, where known, Last-Modified (the latest
change among what it shows), so calendar programs that poll get `304 Not Modified` while
nothing changed. Sessions outside official rooms do not exist here, like everywhere else.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.acting import voice_of
from bot.config import Config, WebConfig
from bot.rooms import OfficialRooms
from rules.calendar_file import FeedEntry, feed_calendar, feed_key
from rules.session_fields import REGIONS
from rules.web_pages import Site, archive_page, archive_years, not_found_page, session_card, session_page, site_of
from storage import calendar_tokens, feedback, sessions
from storage.db import Database
from storage.models import RegistrationStatus
from storage.sessions import Scope

log = logging.getLogger(__name__)

# How far back a feed reaches: sessions that ended longer ago drop out of it.
FEED_PAST = timedelta(days=180)
ARCHIVE_LIMIT = 1000
CALENDAR = "text/calendar; charset=utf-8"
HTML = "text/html; charset=utf-8"
TOKEN = "[A-Za-z0-9_-]{20,100}"
FEEDS_KEPT = 64  # rendered feeds kept in memory (the public ones and the personal ones asked for lately)
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


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


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


class FeedCache:
    """Rendered feeds by what they are made of: rendering takes icalendar about a millisecond per
    entry, so a feed is rendered again only when one of its sessions changed, and a calendar that
    polls an unchanged feed costs one query."""

    def __init__(self, size: int = FEEDS_KEPT) -> None:
        self.size = size
        self._feeds: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._feeds)

    def render(self, entries: list[FeedEntry], name: str, tz: ZoneInfo, domain: str, *, alarms: bool = False) -> bytes:
        key = (name, str(tz), domain, alarms, feed_key(entries))
        body = self._feeds.get(key)
        if body is None:
            body = self._feeds[key] = feed_calendar(entries, name, tz, domain, alarms=alarms)
            while len(self._feeds) > self.size:
                self._feeds.popitem(last=False)
        self._feeds.move_to_end(key)
        return body


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
        app = web.Application()
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

    def _site(self) -> Site:
        """What every page links to: the pages below the public address's path, and the feeds."""
        return site_of(voice_of(self.config, self.clock()), self.web.root, self.web.url)

    def _answer(
        self,
        request: web.Request,
        body: bytes,
        content_type: str,
        last_modified: datetime | None,
        cache: str = "public, max-age=300",
    ) -> web.Response:
        """The body, or 304 when the request's conditions say the client has it already."""
        etag = etag_of(body)
        headers = {"ETag": etag, "Cache-Control": cache, **SECURITY_HEADERS}
        if last_modified is not None and self.clock() - last_modified >= STRONG_AFTER:
            headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
        if not_modified(
            request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"), etag, last_modified
        ):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={**headers, "Content-Type": content_type})

    def _not_found(self) -> web.Response:
        page = not_found_page(voice_of(self.config, self.clock()), self._site())
        return web.Response(status=404, body=page.encode(), headers={"Content-Type": HTML, **SECURITY_HEADERS})

    async def _feed(self, request: web.Request) -> web.Response:
        slug = request.match_info.get("region")
        region = REGIONS.get(slug) if slug else None
        if slug and region is None:
            return self._not_found()
        now = self.clock()
        async with self.db.transaction() as s:
            found = await sessions.feed_sessions(s, now - FEED_PAST, Scope(self.official.all(), region))
        voice = voice_of(self.config, now)
        name = voice.t("web.feed_name_region", region=region) if region else voice.t("web.feed_name")
        entries = [FeedEntry(x, x.changed_at) for x in found]
        body = self.feeds.render(entries, name.plain, self.config.timezone, self.config.matrix.server_name)
        return self._answer(request, body, CALENDAR, max((e.changed_at for e in entries), default=None))

    async def _personal_feed(self, request: web.Request) -> web.Response:
        now = self.clock()
        async with self.db.transaction() as s:
            user_id = await calendar_tokens.owner(s, request.match_info["token"])
            if user_id is None:
                return self._not_found()
            held = await calendar_tokens.registered_sessions(s, user_id, now - FEED_PAST, self.official.all())
            own_change = await calendar_tokens.last_change(s, user_id)
        entries = [
            FeedEntry(x, max(x.changed_at, r.updated_at), waiting=r.status == RegistrationStatus.WAITLISTED)
            for x, r in held
        ]
        name = voice_of(self.config, now).t("web.feed_name_personal").plain
        body = self.feeds.render(entries, name, self.config.timezone, self.config.matrix.server_name, alarms=True)
        moments = [e.changed_at for e in entries] + ([own_change] if own_change else [])
        last = max(moments, default=None)
        return self._answer(request, body, CALENDAR, last, cache="private, max-age=300")

    async def _home(self, _request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{self.web.root}/archiv")

    async def _archive(self, request: web.Request) -> web.Response:
        now = self.clock()
        async with self.db.transaction() as s:
            past = await sessions.past_sessions(s, now, limit=ARCHIVE_LIMIT, scope=Scope(self.official.all()))
            materials = await sessions.materials(s, [x.number for x in past])
            totals = await feedback.totals_by_session(s, [x.number for x in past])
        voice = voice_of(self.config, now)
        page = archive_page(voice, archive_years(voice, past, materials, totals), self._site())
        last = max((x.changed_at for x in past), default=None)
        return self._answer(request, page.encode(), HTML, last)

    async def _session(self, request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        now = self.clock()
        async with self.db.transaction() as s:
            session = await sessions.get_session(s, number)
            if session is None or not self.official.is_official(session.room_id):
                return self._not_found()
            materials = await sessions.materials(s, [number])
            totals = await feedback.feedback_totals(s, number)
        voice = voice_of(self.config, now)
        page = session_page(voice, session_card(voice, session, materials, totals), self._site())
        return self._answer(request, page.encode(), HTML, session.changed_at)
