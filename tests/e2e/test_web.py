"""The calendar feeds and pages of a running bot, fetched over HTTP while people use it in Matrix:
feeds parsed with icalendar, changes followed, conditional requests, the personal feed from
subscribing to revoking, and nothing of rooms that are not official."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from icalendar import Calendar

from bot.devserver import free_port
from storage.models import Material, Session
from storage.rows import save
from tests.e2e.conftest import RunningBot
from tests.e2e.people import body, shared_room

pytestmark = pytest.mark.e2e


async def add_past(running: RunningBot, room: str, title: str, **fields: object) -> int:
    """A session that took place a month ago, with what was published after it."""
    assert running.bot is not None
    start = datetime.now(UTC) - timedelta(days=30)
    async with running.bot.db.transaction() as s:
        session = await save(
            s,
            Session(
                title=title,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                room_id=room,
                created_by="@nobody:localhost",
                created_at=start,
                **fields,
            ),
        )
        await save(
            s,
            Material(
                session_id=session.number,
                url=f"https://example.org/{session.number}.pdf",
                title="Folien",
                added_by="@nobody:localhost",
                added_at=start,
            ),
        )
    return session.number


def entries(data: bytes) -> dict[str, object]:
    return {str(e["summary"]): e for e in Calendar.from_ical(data).walk("VEVENT")}


async def test_feeds_follow_changes_answer_304_and_the_personal_feed_ends_when_revoked(people, bot_config, run_bot):
    anna, bernd = await people("anna"), await people("bernd")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bot = await run_bot(
        await bot_config(coordinators=[anna.user_id], web={"listen": f"127.0.0.1:{port}", "public_url": base})
    )
    room = await shared_room(anna, bot.user_id, bernd)
    own_room = await bernd.create_room(invite=[bot.user_id], name="Bernds eigener Raum")
    await anna.ask(room, "!termin neu Starkregen | Do 10.12.2099 14 Uhr | Plätze: 1 | Link: https://meet.example.org/s")
    await anna.ask(room, "!termin neu OZG in der Praxis | Fr 11.12.2099 10 Uhr")
    archived = await add_past(bot, room, "Wärmeplanung", region="Bielefeld", protocol_url="https://example.org/p.pdf")
    hidden = await add_past(bot, own_room, "Nicht offiziell", protocol_url="https://example.org/geheim.pdf")

    async with aiohttp.ClientSession() as http:
        # The public feed: official sessions only, parsed back.
        async with http.get(f"{base}/kalender.ics") as response:
            assert response.status == 200 and response.content_type == "text/calendar"
            etag = response.headers["ETag"]
            first = entries(await response.read())
        assert set(first) == {"Starkregen", "OZG in der Praxis", "Wärmeplanung"}
        storm = first["Starkregen"]
        assert storm["sequence"] == 0 and str(storm["url"]) == "https://meet.example.org/s"
        assert storm.decoded("dtstart").isoformat() == "2099-12-10T14:00:00+01:00"
        uid = str(storm["uid"])

        # Polling while nothing changed costs a 304, by tag or (where the last change is older than
        # a second, which Last-Modified can tell apart) by date.
        async with http.get(f"{base}/kalender.ics", headers={"If-None-Match": etag}) as response:
            assert response.status == 304 and await response.read() == b""
        async with http.get(f"{base}/termin/{archived}") as response:
            last_modified = response.headers["Last-Modified"]
        async with http.get(f"{base}/termin/{archived}", headers={"If-Modified-Since": last_modified}) as response:
            assert response.status == 304

        # A new date: the next fetch has it, with a higher sequence and the same UID.
        changed = await anna.ask(room, "!termin ändern #1 Wann: Do 17.12.2099 15 Uhr")
        assert "geändert" in body(changed)
        async with http.get(f"{base}/kalender.ics", headers={"If-None-Match": etag}) as response:
            assert response.status == 200 and response.headers["ETag"] != etag
            moved = entries(await response.read())["Starkregen"]
        assert str(moved["uid"]) == uid and moved["sequence"] == 1
        assert moved.decoded("dtstart").isoformat() == "2099-12-17T15:00:00+01:00"
        cancelled = await anna.ask(room, "!termin absagen #2 Referent erkrankt")
        assert "abgesagt" in body(cancelled)
        async with http.get(f"{base}/kalender/paderborn.ics") as response:
            assert response.status == 200
            paderborn = entries(await response.read())
        assert set(paderborn) == {"Starkregen", "OZG in der Praxis"}  # both regions; Wärmeplanung is Bielefeld's
        assert (
            str(paderborn["OZG in der Praxis"]["status"]) == "CANCELLED"
            and paderborn["OZG in der Praxis"]["sequence"] == 1
        )
        async with http.get(f"{base}/kalender/hamburg.ics") as response:
            assert response.status == 404

        # The personal feed: subscribed by direct message, the sender's registrations only.
        await bernd.ask(room, "!anmelden #1")
        answer = await bernd.ask(room, "!kalender abonnieren")
        assert "privat" in body(answer) and "/kalender/p/" not in body(answer)
        (direct,) = await bernd.wait_for(
            lambda e: e["sender"] == bot.user_id and e["room_id"] != room and "/kalender/p/" in body(e)
        )
        match = re.search(rf"{re.escape(base)}/kalender/p/[A-Za-z0-9_-]+\.ics", body(direct))
        assert match
        personal_url = match.group(0)
        async with http.get(personal_url) as response:
            assert response.status == 200 and "private" in response.headers["Cache-Control"]
            personal_etag = response.headers["ETag"]
            mine = entries(await response.read())
        assert set(mine) == {"Starkregen"} and str(mine["Starkregen"]["status"]) == "CONFIRMED"
        async with http.get(personal_url, headers={"If-None-Match": personal_etag}) as response:
            assert response.status == 304
        assert "abgemeldet" in body(await bernd.ask(room, "!abmelden #1"))
        async with http.get(personal_url, headers={"If-None-Match": personal_etag}) as response:
            assert response.status == 200 and entries(await response.read()) == {}
        async with http.get(personal_url.replace("/p/", "/p/x")) as response:
            assert response.status == 404
        assert "abbestellt" in body(await bernd.ask(room, "!kalender abbestellen"))
        async with http.get(personal_url) as response:
            assert response.status == 404

        # The pages: published data of official rooms, nobody's name.
        async with http.get(f"{base}/archiv") as response:
            assert response.status == 200 and response.content_type == "text/html"
            archive = await response.text()
        assert "Wärmeplanung" in archive and "https://example.org/p.pdf" in archive
        assert f'href="/termin/{archived}"' in archive and "Folien" in archive
        assert "Nicht offiziell" not in archive and "geheim" not in archive
        assert "Starkregen" not in archive  # not past yet
        for person in (anna, bernd):
            assert person.user_id not in archive
        async with http.get(f"{base}/termin/{archived}") as response:
            assert response.status == 200
            page = await response.text()
        assert '<html lang="de">' in page and "Wärmeplanung" in page
        async with http.get(f"{base}/termin/1") as response:
            upcoming = await response.text()
        assert "https://meet.example.org/s" in upcoming and bernd.user_id not in upcoming
        for path in (f"/termin/{hidden}", "/termin/999", "/kalender/p/zu-kurz.ics"):
            async with http.get(f"{base}{path}") as response:
                assert response.status == 404, path
