"""The web server under load and beside a busy database: it reads without the write lock, renders a
page once per change of what it shows (and answers 304 before reading anything), and limits what
anyone can ask of it (body size, a rate per client address, a few renders at a time). Against the
real aiohttp server on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_network
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict
from sqlalchemy import text

from bot import web as web_module
from bot.rooms import OfficialRooms
from bot.throttle import AddressBuckets, client_address
from bot.web import RENDERS, WebServer
from bot.web_cache import Page, PageCache
from storage import state
from storage.db import Database
from storage.models import BotState, Material, Session
from storage.rows import save
from tests.postgres import on_both_databases
from tests.unit.fakes import NOW
from tests.unit.test_web import serving, session

PROXIES = (ip_network("127.0.0.1"), ip_network("::1"))


def material(number: int) -> Material:
    return Material(session_id=number, url=f"https://example.org/{number}.pdf", added_by="@a:x", added_at=NOW)


@dataclass
class Site:
    """A running web server on loopback, its database (reads counted) and its clock."""

    server: WebServer
    db: Database
    base: str
    clock: list[datetime]
    reads: list[int]  # transactions read, and the most at once: [count, in flight, most]

    async def get(self, http: aiohttp.ClientSession, path: str, **headers: str) -> tuple[int, bytes, CIMultiDict[str]]:
        async with http.get(f"{self.base}{path}", headers=headers) as response:
            return response.status, await response.read(), response.headers.copy()


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_url: str) -> AsyncIterator[Site]:
    """Sessions #1 (ended two days ago, with material) and #2 (ends in an hour) in an official
    room, served by a WebServer whose every read is counted (and takes 20 ms)."""
    config, web_config, db = await serving(tmp_path, migrated_url)
    async with db.transaction() as s:
        await save(s, session(1, -2, title="Wärmeplanung"))
        await save(s, material(1))
        await save(s, session(2, 0, title="Starkregen", starts_at=NOW - timedelta(minutes=30)))
    reads = [0, 0, 0]
    reading = db.reading

    @asynccontextmanager
    async def counted() -> AsyncIterator[object]:
        reads[0] += 1
        reads[1] += 1
        reads[2] = max(reads[2], reads[1])
        try:
            await asyncio.sleep(0.02)
            async with reading() as s:
                yield s
        finally:
            reads[1] -= 1

    monkeypatch.setattr(db, "reading", counted)
    clock = [NOW]
    server = WebServer(config, web_config, db, OfficialRooms(config.official_rooms), lambda: clock[0])
    await server.start()
    yield Site(server, db, f"http://127.0.0.1:{web_config.listen[1]}", clock, reads)
    await server.stop()
    await db.close()


async def test_pages_are_rendered_once_per_change_and_answered_304_before_anything_is_read(site):
    async with aiohttp.ClientSession() as http:
        status, page, headers = await site.get(http, "/archiv")
        assert status == 200 and "Wärmeplanung" in page.decode() and "Starkregen" not in page.decode()
        etag = headers["ETag"]
        for _ in range(5):
            assert (await site.get(http, "/archiv"))[1] == page
        assert (await site.get(http, "/archiv", **{"If-None-Match": etag}))[0] == 304
        assert site.reads[0] == 1  # read and rendered once

        # Writing what the archive does not show (the sync token) leaves it as it is.
        async with site.db.transaction() as s:
            await state.set_state(s, "next_batch", "s9")
        assert (await site.get(http, "/archiv", **{"If-None-Match": etag}))[0] == 304
        assert site.reads[0] == 1

        # New material: read and rendered again, once.
        async with site.db.transaction() as s:
            await save(s, Material(session_id=1, url="https://example.org/neu.pdf", added_by="@a:x", added_at=NOW))
        status, changed, headers = await site.get(http, "/archiv", **{"If-None-Match": etag})
        assert status == 200 and "neu.pdf" in changed.decode() and headers["ETag"] != etag
        assert (await site.get(http, "/archiv", **{"If-None-Match": headers["ETag"]}))[0] == 304
        assert site.reads[0] == 2

        # Time alone moves a session into the archive when it ends.
        site.clock[0] = NOW + timedelta(hours=1)
        status, later, _ = await site.get(http, "/archiv")
        assert status == 200 and "Starkregen" in later.decode() and site.reads[0] == 3

        # A session page and the feed: the same.
        first = await site.get(http, "/termin/1")
        again = await site.get(http, "/termin/1", **{"If-None-Match": first[2]["ETag"]})
        assert first[0] == 200 and again[0] == 304 and site.reads[0] == 4
        feed = await site.get(http, "/kalender.ics")
        assert (await site.get(http, "/kalender.ics", **{"If-None-Match": feed[2]["ETag"]}))[0] == 304
        assert site.reads[0] == 5
        # What does not exist is read each time, and crowds nothing out of the cache.
        for _ in range(2):
            assert (await site.get(http, "/termin/77"))[0] == 404
        assert site.reads[0] == 7 and len(site.server.pages) == 3


async def test_pages_are_served_while_another_process_holds_the_write_lock(site):
    path = site.db.sqlite_file
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE sessions SET title = 'Nicht festgeschrieben' WHERE id = 1")
    try:
        async with aiohttp.ClientSession() as http:
            # The lock is held throughout: a read that waited for it would fail after the busy timeout.
            status, page, _ = await site.get(http, "/termin/1")
            assert status == 200 and "Wärmeplanung" in page.decode() and "Nicht festgeschrieben" not in page.decode()
            assert (await site.get(http, "/kalender.ics"))[0] == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_client_over_its_rate_gets_429_and_others_go_on(site):
    site.server.buckets = AddressBuckets(rate=0.5, burst=3)
    async with aiohttp.ClientSession() as http:
        flood = [await site.get(http, "/archiv", **{"X-Forwarded-For": "203.0.113.7"}) for _ in range(4)]
        assert [status for status, _, _ in flood] == [200, 200, 200, 429]
        _, text_429, headers = flood[-1]
        assert headers["Content-Type"].startswith("text/plain") and headers["Retry-After"] == "2"
        assert "Zu viele Anfragen" in text_429.decode() and "Too many requests" in text_429.decode()
        # Another client behind the same proxy is not affected; what a client claims itself is not believed.
        assert (await site.get(http, "/archiv", **{"X-Forwarded-For": "198.51.100.1"}))[0] == 200
        spoofed = await site.get(http, "/archiv", **{"X-Forwarded-For": "198.51.100.2, 203.0.113.7"})
        assert spoofed[0] == 429


async def test_a_request_with_a_large_body_is_refused(site):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{site.base}/archiv", data=b"x" * (web_module.MAX_BODY + 1)) as response:
            assert response.status == 413 and "zu groß" in await response.text()
        async with http.post(f"{site.base}/archiv", data=b"x" * (web_module.MAX_BODY + 1)) as response:
            assert response.status == 413
    assert site.reads[0] == 0


async def test_renders_take_turns_and_a_request_that_waits_too_long_gets_503(site, monkeypatch):
    async with aiohttp.ClientSession() as http:
        statuses = await asyncio.gather(*(site.get(http, f"/termin/{n}") for n in range(1, 21)))
        assert sorted({status for status, _, _ in statuses}) == [200, 404]
        assert 1 < site.reads[2] <= RENDERS

        monkeypatch.setattr(web_module, "RENDER_WAIT", 0.01)
        answers = await asyncio.gather(*(site.get(http, f"/termin/{n}") for n in range(30, 60)))
        busy = [(body, headers) for status, body, headers in answers if status == 503]
        assert busy and all(headers["Retry-After"] == "1" for _, headers in busy)
        assert "ausgelastet" in busy[0][0].decode() and "busy" in busy[0][0].decode()


def test_a_bucket_allows_a_burst_then_its_rate():
    buckets = AddressBuckets(rate=2, burst=3, size=2)
    assert [buckets.take("a", 0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    assert buckets.take("a", 0.25) == pytest.approx(0.25)  # still no token, half a one refilled
    assert buckets.take("a", 1.0) == 0.0
    assert buckets.take("b", 1.0) == 0.0 and buckets.take("c", 1.0) == 0.0
    assert len(buckets) == 2  # "a", idle longest, is forgotten
    assert buckets.take("a", 1.0) == 0.0


def test_the_client_behind_a_trusted_proxy():
    assert client_address("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"  # no proxy: not believed
    assert client_address("127.0.0.1", None, PROXIES) == "127.0.0.1"
    assert client_address("127.0.0.1", "198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_address("127.0.0.1", "10.0.0.9, 198.51.100.1", PROXIES) == "198.51.100.1"
    two_proxies = (*PROXIES, ip_network("10.0.0.0/8"))
    assert client_address("127.0.0.1", "198.51.100.1, 10.0.0.9", two_proxies) == "198.51.100.1"
    assert client_address("::1", "2001:db8:1:2:3:4:5:6", PROXIES) == "2001:db8:1:2::/64"
    assert client_address("::ffff:192.0.2.1", None, PROXIES) == "192.0.2.1"


def test_a_kept_page_holds_for_its_marker_and_until_its_time():
    pages = PageCache(size=2)
    page = Page(b"archive", "text/html", valid_until=NOW + timedelta(hours=1))
    pages.put("archive", (1, 2), page)
    assert pages.get("archive", (1, 2), NOW) is page
    assert pages.get("archive", (1, 3), NOW) is None
    assert pages.get("archive", (1, 2), NOW + timedelta(hours=1)) is None
    pages.put("a", 1, Page(b"a", "text/html"))
    pages.put("b", 1, Page(b"b", "text/html"))
    assert len(pages) == 2 and pages.get("archive", (1, 2), NOW) is None


@on_both_databases
async def test_reading_never_writes_and_versions_move_with_committed_writes(tmp_path, migrated_url):
    db = Database(migrated_url)
    before = db.versions(Session, BotState)
    async with db.transaction() as s:
        await save(s, session(1, 3))  # the ORM's flush
        await state.set_state(s, "next_batch", "s1")  # a statement of SQLAlchemy Core
    assert db.versions(Session, BotState) == (before[0], before[1] + 1, before[2] + 1)
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            await state.set_state(s, "next_batch", "s2")
            raise RuntimeError("rolled back")
    assert db.versions(Session, BotState) == (before[0], before[1] + 1, before[2] + 1)
    async with db.transaction() as s:
        raw = await s.connection()
        await raw.execute(text("UPDATE bot_state SET value = 's3'"))  # raw SQL: any table may have changed
    assert db.versions(Session)[0] == before[0] + 1
    async with db.reading() as s:
        assert await state.get_state(s, "next_batch") == "s3"
    with pytest.raises(Exception, match=r"read-?only"):
        async with db.reading() as s:
            await state.set_state(s, "next_batch", "s4")
    await db.close()
