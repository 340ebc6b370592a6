"""The calendar feeds and public pages as pure renderings, conditional requests, the `[web]`
config, and `!kalender abonnieren` / `abbestellen` through the dispatcher."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.check_config import check_web
from bot.config import Config, ConfigError, WebConfig, parse_config
from bot.devserver import free_port
from bot.dispatch import Incoming
from bot.rooms import OfficialRooms
from bot.web import WebServer, not_modified
from bot.web_cache import FeedCache, etag_of
from rules.feedback import totals
from rules.i18n import bilingual
from rules.rendering.calendar_file import FeedEntry, feed_calendar, session_calendar
from rules.rendering.web_pages import (
    FeedLink,
    Site,
    archive_page,
    archive_years,
    not_found_page,
    session_card,
    session_page,
)
from rules.voice import Voice
from storage import calendar_tokens, export, people
from storage.db import Database
from storage.models import CalendarToken, Material, OutboxMessage, OutboxStatus, Session
from storage.outbox import ERASED, Outgoing, SecretOutgoing, enqueue, mark_failed
from storage.rows import save
from tests.unit import fakes
from tests.unit.fakes import COORDINATOR, NOW, configured, dispatcher_for

BERLIN = ZoneInfo("Europe/Berlin")
VOICE = Voice("de", "!", BERLIN, NOW)
SITE = Site("", [FeedLink("Alle Termine", "https://regiobot.example.org/kalender.ics")])
ROOM = "!room:localhost"
BERND = "@bernd:localhost"


def session(number: int, days: int, **fields: object) -> Session:
    start = NOW + timedelta(days=days)
    values: dict[str, object] = {
        "id": number,
        "title": f"Termin {number}",
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
        "room_id": ROOM,
        "created_by": COORDINATOR,
        "created_at": NOW - timedelta(days=30),
        **fields,
    }
    return Session(**values)


def events(data: bytes) -> dict[str, object]:
    return {str(e["uid"]): e for e in Calendar.from_ical(data).walk("VEVENT")}


def test_a_feed_holds_every_session_with_the_uid_of_its_single_file():
    upcoming = session(1, 5, link="https://meet.example.org/a", sequence=2)
    cancelled = session(2, 9, status="cancelled", sequence=1)
    changed = NOW - timedelta(days=2)
    data = feed_calendar(
        [FeedEntry(upcoming, changed), FeedEntry(cancelled, changed)], "Regiopol Akademie", BERLIN, "example.org"
    )
    calendar = Calendar.from_ical(data)
    assert str(calendar["x-wr-calname"]) == "Regiopol Akademie"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in data.decode()
    assert "X-PUBLISHED-TTL:PT1H" in data.decode()
    single = Calendar.from_ical(session_calendar(upcoming, BERLIN, NOW, "example.org"))
    (single_uid,) = [str(e["uid"]) for e in single.walk("VEVENT")]
    found = events(data)
    assert single_uid in found and len(found) == 2
    first = found[single_uid]
    assert first["sequence"] == 2 and str(first["status"]) == "CONFIRMED"
    assert str(first["url"]) == "https://meet.example.org/a"
    assert first.decoded("dtstamp") == changed  # the last change, not the time of the request
    assert not first.walk("VALARM")  # a public feed reminds nobody
    assert str(found["regiobot-session-2@example.org"]["status"]) == "CANCELLED"
    assert feed_calendar([FeedEntry(upcoming, changed)], "x", BERLIN, "example.org") == feed_calendar(
        [FeedEntry(upcoming, changed)], "x", BERLIN, "example.org"
    )


def test_a_personal_feed_marks_the_waiting_list_and_reminds():
    data = feed_calendar(
        [FeedEntry(session(1, 5), NOW), FeedEntry(session(2, 6), NOW, waiting=True)],
        "meine",
        BERLIN,
        "example.org",
        alarms=True,
    )
    found = events(data)
    assert str(found["regiobot-session-1@example.org"]["status"]) == "CONFIRMED"
    assert str(found["regiobot-session-2@example.org"]["status"]) == "TENTATIVE"
    assert found["regiobot-session-1@example.org"].walk("VALARM")


def test_conditional_requests():
    etag = etag_of(b"feed")
    changed = datetime(2026, 11, 20, 8, 30, 15, 123456, tzinfo=UTC)
    assert not_modified(etag, None, etag, changed)
    assert not_modified(f'W/{etag}, "other"', None, etag, changed)
    assert not not_modified('"other"', "Fri, 20 Nov 2026 08:30:15 GMT", etag, changed)  # the tag decides
    assert not_modified(None, "Fri, 20 Nov 2026 08:30:15 GMT", etag, changed)
    assert not not_modified(None, "Fri, 20 Nov 2026 08:30:14 GMT", etag, changed)
    assert not not_modified(None, "gestern", etag, changed)
    assert not not_modified(None, "Fri, 20 Nov 2026 08:30:15 GMT", etag, None)
    assert not not_modified(None, None, etag, changed)


def test_the_archive_groups_by_year_and_region_and_publishes_nothing_personal():
    past = [
        session(1, -400, region="Bielefeld", protocol_url="https://example.org/p1.pdf", speaker="Stadt Gütersloh"),
        session(2, -20, region="Paderborn", talk="<script>alert(1)</script>"),
        session(3, -10, region="Bielefeld, Paderborn"),
        session(4, -5, region="Bielefeld"),
    ]
    materials = [Material(session_id=2, url="https://example.org/folien.pdf", title=None, added_by=BERND, added_at=NOW)]
    years = archive_years(VOICE, past, materials)
    assert [y.year for y in years] == [2026, 2025]
    assert [(r.name, [c.number for c in r.sessions]) for r in years[0].regions] == [
        ("Bielefeld", [4]),
        ("Paderborn", [2]),
        ("Bielefeld und Paderborn", [3]),
    ]
    page = archive_page(VOICE, years, SITE)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="de">' in page
    assert '<a class="skip" href="#inhalt">Zum Inhalt springen</a>' in page and '<main id="inhalt"' in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="/termin/1"' in page and 'href="https://example.org/p1.pdf"' in page
    assert 'href="https://example.org/folien.pdf">Unterlagen</a>' in page
    assert "Stadt Gütersloh" in page and "https://regiobot.example.org/kalender.ics" in page
    assert BERND not in page and COORDINATOR not in page
    assert "Rückmeldungen" not in page  # no feedback collected: nothing shown, nothing made up


def test_a_session_page_and_the_page_for_nothing():
    card = session_card(VOICE, session(7, 3, link="https://meet.example.org/x", description="Zeile <b>fett</b>"), [])
    page = session_page(VOICE, card, SITE)
    assert "<h1>#7 Termin 7</h1>" in page and "Zeile &lt;b&gt;fett&lt;/b&gt;" in page
    assert 'href="https://meet.example.org/x"' in page and "noch nicht veröffentlicht" in page
    cancelled = session_page(VOICE, session_card(VOICE, session(8, 3, status="cancelled"), []), SITE)
    assert "abgesagt" in cancelled and "Protokoll" not in re.sub(r"<footer>.*", "", cancelled, flags=re.S)
    rated_card = session_card(VOICE, session(7, 3), [], totals([5, 4, 4]))
    rated = session_page(VOICE, rated_card, SITE)
    assert "<dt>Rückmeldungen</dt>\n<dd>Bewertung: Ø 4,3 von 5 (3 Antworten; 5 bis 1: 5: 1 · 4: 2" in rated
    assert "Seite nicht gefunden" in not_found_page(VOICE, SITE)
    below = session_page(VOICE, card, Site("/regiobot", []))  # the public address has a path
    assert 'href="/regiobot/archiv"' in below and 'href="/archiv"' not in below
    english = Voice("en", "!", BERLIN, NOW)
    assert '<html lang="en">' in session_page(english, session_card(english, session(7, 3), []), SITE)


def test_web_config_needs_both_keys(tmp_path):
    base = {"matrix": {"homeserver": "http://x", "user_id": "@b:x", "password": "p"}}
    web = parse_config(
        {**base, "web": {"listen": "127.0.0.1:8080", "public_url": "https://r.example.org/"}}, {}, tmp_path
    )
    assert web.web is not None and web.web.listen == ("127.0.0.1", 8080)
    assert web.web.url("/archiv") == "https://r.example.org/archiv" and web.web.root == ""
    assert parse_config(base, {}, tmp_path).web is None
    finding = check_web(web)
    assert finding.ok and "127.0.0.1:8080" in bilingual(finding.key, **finding.params)
    assert "https://r.example.org/archiv" in bilingual(finding.key, **finding.params)
    assert check_web(parse_config(base, {}, tmp_path)).key == "check.web_off"
    for broken, key in [
        ({"public_url": "https://r.example.org"}, "[web] listen"),
        ({"listen": "irgendwo"}, "[web] listen"),
        ({"listen": "127.0.0.1:8080"}, "[web] public_url"),
        ({"listen": "127.0.0.1:8080", "public_url": "r.example.org"}, "[web] public_url"),
    ]:
        with pytest.raises(ConfigError) as error:
            parse_config({**base, "web": broken}, {}, tmp_path)
        assert error.value.key == key


async def with_web_address(tmp_path, migrated_url) -> fakes.TestDispatcher:
    """The bot's commands on a migrated database, with a web address (so feeds can be subscribed to)."""
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    config = parse_config(
        {
            "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:localhost", "password": "x"},
            "storage": {"url": config.storage_url},
            "rooms": {ROOM: "beide"},
            "web": {"listen": "127.0.0.1:8080", "public_url": "https://regiobot.example.org"},
        },
        {},
        tmp_path,
    )
    return dispatcher_for(config, db)


async def test_subscribing_sends_a_secret_address_privately_and_revoking_ends_it(tmp_path, migrated_url):
    dispatcher = await with_web_address(tmp_path, migrated_url)
    db = dispatcher.db
    outbox = dispatcher.outbox
    await dispatcher.handle(Incoming(ROOM, BERND, "$s1", "!kalender abonnieren", None), NOW)
    (dm,) = [c for room, c, _ in outbox.sent if room == f"!dm-{BERND}"]
    first = re.search(r"https://regiobot\.example\.org/kalender/p/([A-Za-z0-9_-]+)\.ics", dm["body"])
    assert first and len(first.group(1)) >= 40
    (answer,) = [c["body"] for room, c, _ in outbox.sent if room == ROOM]
    assert "privat" in answer and first.group(1) not in answer  # not in the room
    async with db.transaction() as s:
        stored = await s.get(CalendarToken, BERND)
        assert stored is not None and stored.token_hash != first.group(1)  # kept hashed
        assert await calendar_tokens.owner(s, first.group(1)) == BERND
        assert (await export.person_data(s, BERND)).calendar_token is not None
    await dispatcher.handle(Incoming(ROOM, BERND, "$s2", "!kalender abonnieren", None), NOW)
    renewed = [c["body"] for room, c, _ in outbox.sent if room == f"!dm-{BERND}"][-1]
    second = re.findall(r"/kalender/p/([A-Za-z0-9_-]+)\.ics", renewed)
    assert second and second[0] != first.group(1) and "bisherige Adresse gilt nicht mehr" in renewed
    await dispatcher.handle(Incoming(ROOM, BERND, "$s3", "!kalender abbestellen", None), NOW)
    assert "abbestellt" in outbox.bodies()[-1]
    async with db.transaction() as s:
        assert await calendar_tokens.owner(s, first.group(1)) is None
        assert await calendar_tokens.owner(s, second[0]) is None
    await dispatcher.handle(Incoming(ROOM, BERND, "$s4", "!kalender abbestellen", None), NOW)
    assert "keinen persönlichen Kalender" in outbox.bodies()[-1]
    await db.close()


async def test_the_outbox_keeps_no_secret_address_once_it_is_delivered(tmp_path, migrated_url):
    """Only the address's hash is meant to be kept: the message that carried it (by direct message,
    or as the answer in the bot's own direct chat with the person) keeps no text once sent."""
    dispatcher = await with_web_address(tmp_path, migrated_url)
    db = dispatcher.db
    outbox = dispatcher.outbox
    direct = f"!dm-{BERND}"
    await dispatcher.handle(Incoming(ROOM, BERND, "$s1", "!kalender abonnieren", None), NOW)
    async with db.transaction() as s:
        await people.record_direct_room(s, BERND, direct, NOW)
    sent = len(outbox.sent)
    await dispatcher.handle(Incoming(direct, BERND, "$s2", "!kalender abonnieren", None), NOW)
    ((room, answer, _),) = outbox.sent[sent:]  # asked in the direct chat: the address is the answer
    assert room == direct and answer["m.relates_to"] == {"m.in_reply_to": {"event_id": "$s2"}}
    assert answer["msgtype"] == "m.notice" and "/kalender/p/" in answer["body"]
    async with db.transaction() as s:
        written = (await s.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert all(row.status == OutboxStatus.SENT for row in written)
    assert not any("/kalender/p/" in row.content for row in written)
    assert [row.content for row in written if row.secret] == [ERASED, ERASED]
    assert any("privat" in row.content for row in written)  # other messages keep theirs
    await db.close()


async def test_a_secret_message_given_up_keeps_no_text_either(migrated):
    kept_until = NOW + timedelta(days=1)
    async with migrated.transaction() as s:
        secret = await enqueue(
            s, SecretOutgoing("feed", {"body": "https://x/kalender/p/t.ics"}, user_id=BERND), NOW, kept_until
        )
        plain = await enqueue(s, Outgoing("plain", {"body": "Hallo"}, user_id=BERND), NOW, kept_until)
        assert secret is not None and plain is not None
        await mark_failed(s, await s.get(OutboxMessage, secret.id), "403: M_FORBIDDEN")
        await mark_failed(s, await s.get(OutboxMessage, plain.id), "403: M_FORBIDDEN")
        contents = [row.content for row in (await s.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()]
    assert contents == [ERASED, '{"body": "Hallo"}']


async def test_without_a_web_address_there_is_nothing_to_subscribe_to(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    dispatcher = dispatcher_for(config, db)
    await dispatcher.handle(Incoming(ROOM, BERND, "$s1", "!kalender abonnieren", None), NOW)
    assert "keine Webadresse" in dispatcher.outbox.bodies()[-1]
    await db.close()


async def serving(tmp_path: Path, migrated_url: str) -> tuple[Config, WebConfig, Database]:
    """A config with the web server on a free loopback port and ROOM official, and its database
    (`migrated_url`, the fixture's)."""
    config = parse_config(
        {
            "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:localhost", "password": "x"},
            "storage": {"url": migrated_url},
            "rooms": {ROOM: "beide"},
            "web": {"listen": f"127.0.0.1:{free_port()}", "public_url": "https://regiobot.example.org"},
        },
        {},
        tmp_path,
    )
    assert config.web is not None
    return config, config.web, Database(config.storage_url)


async def test_last_modified_names_only_changes_a_second_old(tmp_path, migrated_url):
    config, _, db = await serving(tmp_path, migrated_url)
    assert config.web is not None
    async with db.transaction() as s:
        await save(s, session(1, 3, updated_at=NOW - timedelta(milliseconds=300)))
    clock = [NOW]
    server = WebServer(config, config.web, db, OfficialRooms(config.official_rooms), lambda: clock[0])
    await server.start()
    url = f"http://127.0.0.1:{config.web.listen[1]}/kalender.ics"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                assert response.status == 200 and "Last-Modified" not in response.headers  # too fresh to name
            clock[0] = NOW + timedelta(seconds=5)
            async with http.get(url) as response:
                assert response.headers["Last-Modified"] == "Sun, 22 Nov 2026 08:59:59 GMT"
                last_modified = response.headers["Last-Modified"]
            async with http.get(url, headers={"If-Modified-Since": last_modified}) as response:
                assert response.status == 304
    finally:
        await server.stop()
        await db.close()


def test_a_feed_is_rendered_again_only_when_a_session_changed():
    cache = FeedCache(size=2)
    entries = [FeedEntry(session(1, 5), NOW)]
    first = cache.render(entries, "x", BERLIN, "example.org")
    assert cache.render([FeedEntry(session(1, 5), NOW)], "x", BERLIN, "example.org") is first
    renamed = cache.render([FeedEntry(session(1, 5, title="Neu"), NOW)], "x", BERLIN, "example.org")
    assert renamed != first and "SUMMARY:Neu" in renamed.decode()
    waiting = cache.render([FeedEntry(session(1, 5), NOW, waiting=True)], "x", BERLIN, "example.org")
    assert "STATUS:TENTATIVE" in waiting.decode()
    assert len(cache) == 2  # the oldest went
