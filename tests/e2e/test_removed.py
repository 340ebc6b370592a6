"""An official room the bot was removed from, against a real homeserver: its power levels give no
role elsewhere (here: the web face's coordination forms) until the bot is invited back, what is
queued for the room fails at once (no retries), and its coordinator is told privately."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace

import aiohttp
import pytest
from sqlmodel import select

from bot.devserver import free_port
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.e2e.people import Event, body, membership_of
from tests.e2e.sessions import from_bot
from tests.e2e.test_web_face import in_days, login_link

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
REFUSED = "haben Sie nicht die Rolle"
CHANGED = "Termin #1 ist geändert"


async def change_on_the_web(http: aiohttp.ClientSession, base: str, places: int) -> str:
    """Change session #1 with the web face's form; the note of the page it leads back to."""
    async with http.get(f"{base}/koordination") as form:
        found = CSRF.search(await form.text())
    assert found
    fields = {"csrf": found.group(1), "aenderungen": f"Plätze: {places}"}
    async with http.post(f"{base}/termin/1/aendern", data=fields) as answer:  # 303 to /ich, followed
        return await answer.text()


async def failed_in(db: Database, room_id: str, timeout: float = 15.0) -> list[OutboxMessage]:
    """The messages for the room that failed, once there are any."""
    deadline = time.monotonic() + timeout
    while True:
        async with db.transaction() as s:
            rows = (await s.exec(select(OutboxMessage).where(OutboxMessage.room_id == room_id))).all()
        failed = [row for row in rows if row.status == OutboxStatus.FAILED]
        if failed:
            return failed
        assert time.monotonic() < deadline, "nothing for the room failed"
        await asyncio.sleep(0.1)


async def test_removed_from_the_official_room_its_coordinator_has_no_say_until_it_is_back(people, bot_config, run_bot):
    paul, clara = await people("paul"), await people("clara")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = {"listen": f"127.0.0.1:{port}", "public_url": base}
    unstarted = await bot_config(web=web, schedule={"announce_before": ["10d"]})  # nobody listed
    paderborn = await paul.create_room(invite=[unstarted.matrix.user_id, clara.user_id])  # Paul: power 100
    await clara.join(paderborn)
    bot = await run_bot(replace(unstarted, official_rooms={paderborn: "Paderborn"}))
    await paul.wait_for(lambda e: e["sender"] == bot.user_id and e["room_id"] == paderborn)
    created = await paul.ask(paderborn, f"!termin neu Vergaberecht | {in_days(3)} 10 Uhr")
    assert "Termin #1 angelegt" in body(created)
    await paul.wait_for(from_bot(bot.user_id, paderborn, "Einladung"))  # announced in the room
    link = await login_link(paul, paderborn, bot.user_id)

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(link) as signed_in:
            assert signed_in.status == 200
        assert CHANGED in await change_on_the_web(http, base, 30)  # his role in the session's room counts

        await paul.client.room_kick(paderborn, bot.user_id)

        def removal_notice(e: Event) -> bool:
            return e["sender"] == bot.user_id and "nicht mehr im offiziellen Raum" in body(e)

        (notice,) = await paul.wait_for(removal_notice)
        assert notice["room_id"] != paderborn and notice["encrypted"]  # the bot's direct chat with him
        assert "(Region: Paderborn)" in body(notice)
        assert REFUSED in await change_on_the_web(http, base, 40)  # the power level last seen is not trusted

        # What is queued for the room now (its announcement, updated by a registration) fails at once.
        hers = await clara.create_room(invite=[bot.user_id])
        await clara.wait_for(lambda e: e["sender"] == bot.user_id and e["room_id"] == hers)
        assert "Vergaberecht" in body(await clara.ask(hers, "!termine"))  # the room stays official
        await clara.ask(hers, "!anmelden #1")
        assert bot.bot is not None
        assert all(row.attempts == 1 for row in await failed_in(bot.bot.db, paderborn))

        # Invited back, the bot joins and the room counts again.
        await paul.client.room_invite(paderborn, bot.user_id)
        await paul.wait_for(membership_of(bot.user_id, paderborn, "join"))
        assert "Vergaberecht" in body(await paul.ask(paderborn, "!termine"))  # answered: it knows the room again
        assert CHANGED in await change_on_the_web(http, base, 50)
