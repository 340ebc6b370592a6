"""Signing in on the web pages from the chat: one-time login links and web sessions (stored as
hashes only), `!web` sending the link by direct message, `!web abmelden` ending every session."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from bot.config import WebConfig
from bot.dispatch import Incoming
from storage import export, people, purge, web_sessions
from storage.models import OutboxMessage
from storage.outbox import ERASED
from tests.unit.fakes import COORDINATOR, NOW, configured, dispatcher_for

ROOM = "!room:localhost"
BERND = "@bernd:localhost"
BASE = "https://regiobot.example.org"


@pytest.fixture
async def web_bot(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    config = dataclasses.replace(config, web=WebConfig(("127.0.0.1", 8080), BASE))
    dispatcher = dispatcher_for(config, db)
    yield dispatcher, dispatcher.outbox, db
    await db.close()


async def test_a_login_link_works_once_and_only_for_ten_minutes(migrated):
    async with migrated.transaction() as s:
        first = await web_sessions.issue_login(s, BERND, NOW)
        late = await web_sessions.issue_login(s, BERND, NOW)
    async with migrated.transaction() as s:
        assert await web_sessions.redeem_login(s, first, NOW + timedelta(minutes=9)) == BERND
        assert await web_sessions.redeem_login(s, first, NOW + timedelta(minutes=9)) is None  # used
        assert await web_sessions.redeem_login(s, late, NOW + timedelta(minutes=10)) is None  # expired
        assert await web_sessions.redeem_login(s, late, NOW) is None  # an expired link is gone for good
        assert await web_sessions.redeem_login(s, "nonsense-token-of-some-length", NOW) is None


async def test_sessions_last_thirty_days_and_end_for_every_browser_at_once(migrated):
    async with migrated.transaction() as s:
        laptop = await web_sessions.open_session(s, BERND, NOW)
        phone = await web_sessions.open_session(s, BERND, NOW)
        other = await web_sessions.open_session(s, COORDINATOR, NOW)
    async with migrated.transaction() as s:
        assert await web_sessions.session_owner(s, laptop, NOW + timedelta(days=29)) == BERND
        assert await web_sessions.session_owner(s, laptop, NOW + timedelta(days=30)) is None
        assert await web_sessions.end_sessions(s, BERND) == 2
        assert await web_sessions.session_owner(s, phone, NOW) is None
        assert await web_sessions.session_owner(s, other, NOW) == COORDINATOR


async def test_only_hashes_of_links_and_cookies_are_stored(migrated):
    async with migrated.transaction() as s:
        link = await web_sessions.issue_login(s, BERND, NOW)
        cookie = await web_sessions.open_session(s, BERND, NOW)
    async with migrated.engine.connect() as conn:
        stored = [
            str(v)
            for table in ("web_logins", "web_sessions")
            for v in (await conn.execute(text(f"SELECT * FROM {table}"))).one()
        ]
    assert BERND in stored and link not in stored and cookie not in stored


async def test_deleting_a_person_and_the_purge_remove_their_web_sessions(migrated):
    async with migrated.transaction() as s:
        await web_sessions.issue_login(s, BERND, NOW)
        mine = await web_sessions.open_session(s, BERND, NOW)
        await web_sessions.open_session(s, COORDINATOR, NOW - timedelta(days=200))  # expired long ago
    async with migrated.transaction() as s:
        assert [w.user_id for w in (await export.person_data(s, BERND)).web_sessions] == [BERND]
        await purge.forget_person(s, BERND)
        await purge.purge_ended(s, NOW - timedelta(days=90))
        assert await web_sessions.session_owner(s, mine, NOW) is None
        assert (await export.person_data(s, BERND)).web_sessions == []
        assert (await export.person_data(s, COORDINATOR)).web_sessions == []


async def test_web_sends_the_link_by_direct_message_only(web_bot):
    dispatcher, outbox, db = web_bot
    await dispatcher.handle(Incoming(ROOM, BERND, "$w1", "!web", None), NOW)
    (dm_room, dm, _), (room, answer, _) = outbox.sent[-2:]
    assert dm_room == f"!dm-{BERND}" and f"{BASE}/login/" in dm["body"] and "10 Minuten" in dm["body"]
    assert room == ROOM and "privat" in answer["body"] and "/login/" not in answer["body"]
    token = dm["body"].split(f"{BASE}/login/")[1].split()[0]
    async with db.transaction() as s:
        kept = (await s.exec(select(OutboxMessage).where(col(OutboxMessage.key).startswith("web-login:")))).all()
        assert [row.content for row in kept] == [ERASED]  # delivered: the outbox forgot the link
        assert await web_sessions.redeem_login(s, token, NOW) == BERND


async def test_web_in_the_direct_chat_answers_with_the_link_itself(web_bot):
    dispatcher, outbox, db = web_bot
    async with db.transaction() as s:
        await people.record_direct_room(s, BERND, "!dm-bernd:localhost", NOW)
    await dispatcher.handle(Incoming("!dm-bernd:localhost", BERND, "$w1", "!web", None), NOW)
    room, answer, _ = outbox.sent[-1]
    assert room == "!dm-bernd:localhost" and f"{BASE}/login/" in answer["body"]
    assert answer["m.relates_to"]["m.in_reply_to"]["event_id"] == "$w1"


async def test_web_abmelden_ends_every_session(web_bot):
    dispatcher, outbox, db = web_bot
    async with db.transaction() as s:
        cookie = await web_sessions.open_session(s, BERND, NOW)
    await dispatcher.handle(Incoming(ROOM, BERND, "$a1", "!web abmelden", None), NOW)
    assert "überall abgemeldet" in outbox.bodies()[-1]
    async with db.transaction() as s:
        assert await web_sessions.session_owner(s, cookie, NOW) is None
    await dispatcher.handle(Incoming(ROOM, BERND, "$a2", "!web abmelden", None), NOW)
    assert "nirgends angemeldet" in outbox.bodies()[-1]


async def test_without_web_pages_web_says_so(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(Incoming(ROOM, BERND, "$w1", "!web", None), NOW)
    assert "keine Webadresse" in outbox.bodies()[-1]
