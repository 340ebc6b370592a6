"""The web face over HTTP (aiohttp's server on a free port, a real database, the outbox delivered
into a fake): signing in with a one-time link, the public programme, one's own page, and forms
refused without a session or a CSRF token."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import web as web_face
from bot.config import WebConfig
from bot.deliverer import Deliverer
from bot.devserver import free_port
from bot.roles import Roles
from bot.rooms import OfficialRooms
from bot.web import WebServer
from bot.web_face import COOKIE, WebFace, preferred_language
from rules.board import EntryKind
from rules.states import SessionStatus
from rules.voice import Voice
from storage import board, export, feedback, sessions, topics, web_sessions
from storage.models import BoardEntry, Registration, RegistrationStatus, Session, Topic
from storage.rows import save
from storage.sessions import Scope
from tests.unit.fakes import COORDINATOR, NOW, FakeOutbox, FakeRooms, RecordingPlans, configured

ROOM, OWN = "!room:localhost", "!own:localhost"
BERND = "@bernd:localhost"
ELEMENT = "https://element.example.org"


@dataclasses.dataclass
class Site:
    base: str
    db: Any
    outbox: FakeOutbox
    plans: RecordingPlans

    async def login_token(self, user_id: str = BERND) -> str:
        async with self.db.transaction() as s:
            return await web_sessions.issue_login(s, user_id, NOW)


@pytest.fixture
async def site(tmp_path, migrated_url) -> AsyncIterator[Site]:
    port = free_port()
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    homeserver = await fake_homeserver()
    web_config = WebConfig(("127.0.0.1", port), f"http://127.0.0.1:{port}", widget_hosts=(ELEMENT,))
    matrix = dataclasses.replace(config.matrix, homeserver=str(homeserver.make_url("")).rstrip("/"))
    config = dataclasses.replace(config, web=web_config, matrix=matrix)
    assert config.web is not None
    official = OfficialRooms(config.official_rooms)
    outbox, plans = FakeOutbox(), RecordingPlans()
    deliverer = Deliverer(config, db, outbox, lambda: NOW)

    async def delivered(_: list[Any]) -> None:
        await deliverer.drain()

    face = WebFace(
        config, config.web, db, Roles(config.roles, FakeRooms(), official), outbox, plans, delivered, lambda: NOW
    )
    routes = web_face.routes(face)
    server = WebServer(config, config.web, db, official, lambda: NOW, routes)
    await server.start()
    yield Site(f"http://127.0.0.1:{port}", db, outbox, plans)
    await server.stop()
    await homeserver.close()
    await db.close()


async def fake_homeserver() -> TestServer:
    """A homeserver's OpenID endpoint: the token "good-token" is Bernd's, any other unknown."""

    async def userinfo(request: web.Request) -> web.Response:
        if request.query.get("access_token") == "good-token":
            return web.json_response({"sub": BERND})
        return web.json_response({"errcode": "M_UNKNOWN_TOKEN"}, status=401)

    app = web.Application()
    app.router.add_get("/_matrix/federation/v1/openid/userinfo", userinfo)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def seed(db: Any) -> dict[str, int]:
    numbers = {}
    async with db.transaction() as s:
        for key, room, days, fields in [
            (
                "storm",
                ROOM,
                20,
                {"title": "Starkregenvorsorge", "region": "Bielefeld", "capacity": 2, "speaker": "Kreis Lippe"},
            ),
            ("ozg", ROOM, 50, {"title": "OZG in der Praxis", "region": "Paderborn"}),
            ("own", OWN, 10, {"title": "Privates Treffen"}),
            ("past", ROOM, -10, {"title": "Vergangen"}),
        ]:
            start = NOW + timedelta(days=days)
            x = await save(
                s,
                Session(
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    room_id=room,
                    created_by=COORDINATOR,
                    created_at=NOW,
                    **fields,
                ),
            )
            numbers[key] = x.number
        for who in ("@a:localhost", "@b:localhost", "@c:localhost"):
            status = RegistrationStatus.REGISTERED if who != "@c:localhost" else RegistrationStatus.WAITLISTED
            await save(
                s, Registration(session_id=numbers["storm"], user_id=who, status=status, queued_at=NOW, updated_at=NOW)
            )
        await save(s, Topic(title="Mobiles Arbeiten", room_id=ROOM, proposed_by="@a:localhost", proposed_at=NOW))
        await save(s, Topic(title="Geheimer Wunsch", room_id=OWN, proposed_by="@a:localhost", proposed_at=NOW))
        for title, category in [
            ("Drohnen für die Vermessung", "Digitalisierung/OZG"),
            ("Wärmeplan gesucht", "Klimaschutz und Wärmeplanung"),
        ]:
            await board.add_entry(
                s,
                BoardEntry(
                    kind=EntryKind.OFFER,
                    category=category,
                    title=title,
                    municipality="Gütersloh",
                    author="@author:localhost",
                    created_at=NOW,
                    updated_at=NOW,
                    expires_at=NOW + timedelta(days=30),
                ),
            )
    return numbers


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies like a browser (also for an IP address)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def test_the_browsers_language_is_taken_when_the_catalogues_have_it():
    assert preferred_language("en-GB,en;q=0.9,de;q=0.8", "de") == "en"
    assert preferred_language("fr-FR,de;q=0.5,en;q=0.7", "de") == "en"
    assert preferred_language("fr, it", "de") == "de"
    assert preferred_language(None, "en") == "en"
    assert preferred_language("de;q=0, en;q=x", "de") == "de"


async def test_the_programme_shows_what_is_ahead_and_no_person(site):
    numbers = await seed(site.db)
    async with browser() as http, http.get(f"{site.base}/programm") as response:
        assert response.status == 200
        html = await response.text()
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert f"#{numbers['storm']} Starkregenvorsorge" in html and "Kreis Lippe" in html
    assert "ausgebucht (2 Plätze) – auf der Warteliste: 1" in html
    assert "OZG in der Praxis" in html and "Dezember 2026" in html and "Januar 2027" in html
    assert "Privates Treffen" not in html and "Vergangen" not in html and "Geheimer Wunsch" not in html
    assert "Mobiles Arbeiten" in html and "Drohnen für die Vermessung" in html and "Gütersloh" in html
    assert "@" not in re.sub(r"<style>.*?</style>", "", html, flags=re.S)  # no person, no Matrix id
    assert '<form class="inline"' not in html  # no buttons on the public page


async def test_the_programme_filters_by_region_category_and_text(site):
    await seed(site.db)
    async with browser() as http:
        async with http.get(f"{site.base}/programm", params={"region": "Paderborn"}) as response:
            html = await response.text()
        assert "OZG in der Praxis" in html and "Starkregenvorsorge" not in html
        async with http.get(f"{site.base}/programm", params={"kategorie": "Digitalisierung/OZG"}) as response:
            html = await response.text()
        assert "Drohnen" in html and "Wärmeplan gesucht" not in html
        async with http.get(f"{site.base}/programm", params={"suche": "Drohne"}) as response:
            html = await response.text()
        assert "Drohnen" in html and "Wärmeplan gesucht" not in html
        async with http.get(f"{site.base}/programm", params={"region": "<script>", "kategorie": "x"}) as response:
            assert response.status == 200 and "<script>" not in await response.text()


async def test_a_login_link_signs_in_once_and_leads_to_ich(site):
    await seed(site.db)
    token = await site.login_token()
    async with browser() as http:
        async with http.get(f"{site.base}/login/{token}", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/ich"
            cookie = response.cookies[COOKIE]
            assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
            assert int(cookie["max-age"]) == 30 * 24 * 3600
        async with http.get(f"{site.base}/ich") as response:
            assert response.status == 200
            html = await response.text()
        assert "Sie sind angemeldet als @bernd:localhost" in html and 'name="csrf"' in html
    async with browser() as second, second.get(f"{site.base}/login/{token}", allow_redirects=False) as response:
        assert response.status == 410 and "Dieser Link gilt nicht mehr" in await response.text()  # used
        assert COOKIE not in response.cookies


async def test_a_link_opened_from_a_chat_client_leads_on_by_a_page_of_ours(site):
    token = await site.login_token()
    async with browser() as http:
        headers = {"Sec-Fetch-Site": "cross-site", "Accept-Language": "en"}
        async with http.get(f"{site.base}/login/{token}", headers=headers, allow_redirects=False) as response:
            assert response.status == 200 and COOKIE in response.cookies
            html = await response.text()
    assert '<meta http-equiv="refresh" content="0; url=/ich">' in html and "You are signed in" in html


async def test_ich_without_a_session_says_how_to_sign_in(site):
    forged = {"Cookie": f"{COOKIE}=forged-token-forged-token"}
    async with browser() as http, http.get(f"{site.base}/ich", headers=forged) as response:
        assert response.status == 401 and "!web" in await response.text()


async def test_signing_out_ends_this_browsers_session(site):
    token = await site.login_token()
    async with browser() as http:
        await http.get(f"{site.base}/login/{token}")
        html = await (await http.get(f"{site.base}/ich")).text()
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
        assert csrf
        async with http.post(f"{site.base}/abmelden", data={"csrf": csrf.group(1)}, allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/programm"
        async with http.get(f"{site.base}/ich") as response:
            assert response.status == 401


async def signed_in(site: Site, http: aiohttp.ClientSession, user_id: str = BERND) -> str:
    """Sign `user_id` in with a fresh link; the CSRF token of their forms."""
    await http.get(f"{site.base}/login/{await site.login_token(user_id)}")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', await (await http.get(f"{site.base}/ich")).text())
    assert csrf
    return csrf.group(1)


async def post(http: aiohttp.ClientSession, url: str, csrf: str | None, back: str = "ich") -> tuple[int, str]:
    """Send a form as a browser does (following the redirect); the status and the page shown."""
    data = {"weiter": back} | ({"csrf": csrf} if csrf is not None else {})
    async with http.post(url, data=data) as response:
        return response.status, await response.text()


def note(html: str) -> str:
    found = re.search(r'<p class="note" role="status">(.*?)</p>', html, re.S)
    return found.group(1) if found else ""


async def test_registering_and_leaving_by_form_run_the_use_cases(site):
    numbers = await seed(site.db)
    storm = numbers["storm"]  # 2 places, both taken, one waiting
    async with browser() as http:
        csrf = await signed_in(site, http)
        status, html = await post(http, f"{site.base}/termin/{numbers['ozg']}/anmelden", csrf)
        assert status == 200 and f"Sie sind angemeldet für #{numbers['ozg']} „OZG in der Praxis“" in note(html)
        assert "Datenschutz" in note(html)  # the first registration
        _, html = await post(http, f"{site.base}/termin/{storm}/anmelden", csrf)
        assert "Sie stehen auf Platz 2 der Warteliste" in note(html) and "Datenschutz" not in note(html)
        assert site.plans.changed_places == [numbers["ozg"], storm]
        assert "Warteliste, Platz 2" in html  # among one's registrations
        _, html = await post(http, f"{site.base}/termin/{storm}/anmelden", csrf)
        assert "bereits auf der Warteliste (Platz 2)" in note(html)
        _, html = await post(http, f"{site.base}/termin/{storm}/abmelden", csrf)
        assert "nicht mehr auf der Warteliste" in note(html)
        _, html = await post(http, f"{site.base}/termin/{storm}/abmelden", csrf)
        assert "nicht angemeldet" in note(html)  # refused by the use case, said on the page
        _, html = await post(http, f"{site.base}/termin/{numbers['own']}/anmelden", csrf)
        assert f"#{numbers['own']}" in note(html) and "Privates Treffen" not in html  # not official: unknown


async def test_leaving_by_form_moves_the_next_person_up_and_tells_them(site):
    numbers = await seed(site.db)
    async with browser() as http:
        csrf = await signed_in(site, http, "@a:localhost")
        _, html = await post(http, f"{site.base}/termin/{numbers['storm']}/abmelden", csrf)
    assert "abgemeldet" in note(html)
    (room, told, _) = site.outbox.sent[-1]
    assert room == "!dm-@c:localhost" and "Starkregenvorsorge" in told["body"]


async def test_forms_without_a_session_or_csrf_token_are_refused(site):
    numbers = await seed(site.db)
    url = f"{site.base}/termin/{numbers['ozg']}/anmelden"
    async with browser() as http:
        status, html = await post(http, url, "0" * 64)
        assert status == 403 and "melden Sie sich zuerst an" in html
        csrf = await signed_in(site, http)
        status, html = await post(http, url, None)
        assert status == 403 and "Formular war nicht mehr gültig" in html
        status, html = await post(http, url, csrf[::-1])
        assert status == 403
        async with http.get(f"{site.base}/ich") as response:
            assert "Sie sind für keinen kommenden Termin angemeldet" in await response.text()
    async with site.db.transaction() as s:
        assert (await export.person_data(s, BERND)).registrations == []


async def test_a_form_leads_back_to_the_widget_when_sent_from_there(site):
    numbers = await seed(site.db)
    async with browser() as http:
        csrf = await signed_in(site, http)
        data = {"csrf": csrf, "weiter": "widget"}
        async with http.post(f"{site.base}/termin/{numbers['ozg']}/anmelden", data=data, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/widget"
        data["weiter"] = "https://elsewhere.example.org/"
        async with http.post(f"{site.base}/termin/{numbers['ozg']}/abmelden", data=data, allow_redirects=False) as r:
            assert r.headers["Location"] == "/ich"


async def test_only_the_widget_may_be_framed_and_run_a_script(site):
    async with browser() as http:
        for path in ("/programm", "/ich", "/archiv"):
            async with http.get(f"{site.base}{path}") as response:
                policy = response.headers["Content-Security-Policy"]
                assert "frame-ancestors 'none'" in policy and "script-src" not in policy, path
        async with http.get(f"{site.base}/widget?widgetId=regiobot_programm") as response:
            policy = response.headers["Content-Security-Policy"]
            html = await response.text()
        assert f"frame-ancestors {ELEMENT}" in policy and "script-src 'self'" in policy
        assert '<script src="/widget.js"></script>' in html and f'data-hosts="{ELEMENT}"' in html
        async with http.get(f"{site.base}/widget.js") as response:
            assert response.content_type == "text/javascript" and "get_openid" in await response.text()


async def sign_in_widget(
    http: aiohttp.ClientSession, site: Site, body: dict[str, str], **headers: str
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{site.base}/widget/anmelden-mit-matrix", json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_the_widget_signs_in_with_a_token_its_homeserver_confirms(site):
    numbers = await seed(site.db)
    async with browser() as http:
        status, answer = await sign_in_widget(
            http, site, {"access_token": "good-token", "matrix_server_name": "localhost"}
        )
        assert status == 200 and answer == {"signed_in": True}
        async with http.get(f"{site.base}/widget") as response:
            html = await response.text()
            assert "script-src" not in response.headers["Content-Security-Policy"]  # signed in: no script
        assert "Sie sind angemeldet als @bernd:localhost" in html and "<script" not in html
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
        assert csrf and 'name="weiter" value="widget"' in html
        _, html = await post(http, f"{site.base}/termin/{numbers['ozg']}/anmelden", csrf.group(1), "widget")
    assert "Sie sind angemeldet für" in note(html) and "<header>" not in html  # back in the widget


async def test_the_widget_refuses_other_servers_unknown_tokens_and_other_sites(site):
    async with browser() as http:
        status, answer = await sign_in_widget(
            http, site, {"access_token": "good-token", "matrix_server_name": "evil.example.org"}
        )
        assert status == 403 and "dieses Matrix-Servers" in answer["error"]
        status, answer = await sign_in_widget(http, site, {"access_token": "stolen", "matrix_server_name": "localhost"})
        assert status == 403 and "nicht bestätigt" in answer["error"]
        body = {"access_token": "good-token", "matrix_server_name": "localhost"}
        status, _ = await sign_in_widget(http, site, body, Origin="https://attacker.example.org")
        assert status == 403
        async with http.post(f"{site.base}/widget/anmelden-mit-matrix", data=body) as response:
            assert response.status == 403  # a form of another site cannot send JSON
        status, _ = await sign_in_widget(http, site, {"access_token": "good-token"})
        assert status == 400
        async with http.get(f"{site.base}/widget?angemeldet=1") as response:
            html = await response.text()
        assert "keine Anmeldung speichern" in html and "<script" not in html


async def test_a_coordinator_checks_the_date_then_creates_a_session(site):
    await seed(site.db)
    async with browser() as http:
        csrf = await signed_in(site, http, COORDINATOR)
        html = await (await http.get(f"{site.base}/ich")).text()
        assert "Koordination" in html and "Angemeldet: 2 · Warteliste: 1" in html
        form = {"csrf": csrf, "raum": ROOM, "titel": "Vergaberecht | kompakt", "wann": "Do 10.12.2026 14-15 Uhr"}
        async with http.post(f"{site.base}/termin/neu", data=form | {"aktion": "pruefen"}) as response:
            checked = await response.text()
        assert "Verstanden als: Donnerstag, 10. Dezember 2026, 14:00–15:00 Uhr" in checked
        assert 'value="Vergaberecht | kompakt"' in checked
        async with http.post(f"{site.base}/termin/neu", data=form | {"wann": "am 31.2."}) as response:
            assert "Verstanden als" not in await response.text()  # not saved: "Prüfen" is the default
        async with http.post(f"{site.base}/termin/neu", data=form | {"aktion": "speichern", "plaetze": "30"}) as r:
            html = await r.text()
    assert "„Vergaberecht kompakt“ am Donnerstag, 10. Dezember 2026" in note(html) and "angelegt" in note(html)
    assert site.plans.changed_sessions  # its announcement and reminders are planned


async def test_staff_posting_to_a_coordinator_form_are_refused_by_the_use_case(site):
    numbers = await seed(site.db)
    async with browser() as http:
        csrf = await signed_in(site, http)
        html = await (await http.get(f"{site.base}/ich")).text()
        assert "Koordination" not in html
        form = {"csrf": csrf, "raum": ROOM, "titel": "Fremd", "wann": "Do 10.12.2026 14 Uhr", "aktion": "speichern"}
        async with http.post(f"{site.base}/termin/neu", data=form) as response:
            assert "Koordination" in note(await response.text())
        data = {"csrf": csrf, "grund": "keine Lust"}
        async with http.post(f"{site.base}/termin/{numbers['storm']}/absagen", data=data) as response:
            assert "Koordination" in note(await response.text())
    async with site.db.transaction() as s:
        storm = await sessions.get_session(s, numbers["storm"])
        assert storm is not None and storm.status == SessionStatus.SCHEDULED
        assert await sessions.get_session(s, numbers["past"] + 1) is None


async def test_a_coordinator_cancels_with_a_reason_and_everyone_registered_is_told(site):
    numbers = await seed(site.db)
    async with browser() as http:
        csrf = await signed_in(site, http, COORDINATOR)
        data = {"csrf": csrf, "grund": "Referentin erkrankt"}
        async with http.post(f"{site.base}/termin/{numbers['storm']}/absagen", data=data) as response:
            assert "3 angemeldete und wartende Personen werden benachrichtigt" in note(await response.text())
    told = {room for room, content, _ in site.outbox.sent if "Referentin erkrankt" in content["body"]}
    assert told == {"!dm-@a:localhost", "!dm-@b:localhost", "!dm-@c:localhost"}


async def test_wishes_are_voted_for_and_proposed_with_the_look_alike_hint(site):
    await seed(site.db)
    async with site.db.transaction() as s:
        wish = (await topics.open_topics(s, Scope([ROOM])))[0].topic
    async with browser() as http:
        csrf = await signed_in(site, http)
        html = await (await http.get(f"{site.base}/ich")).text()
        assert f"T{wish.id} · Mobiles Arbeiten · Stimmen: 0" in html
        _, html = await post(http, f"{site.base}/wunsch/{wish.id}/stimme", csrf)
        assert f"Ihre Stimme für T{wish.id} zählt" in note(html) and "Stimmen: 1" in html
        _, html = await post(http, f"{site.base}/wunsch/{wish.id}/stimme", csrf)
        assert "zählt schon" in note(html)
        data = {"csrf": csrf, "raum": ROOM, "titel": "Mobiles Arbeiten im Rathaus", "text": ""}
        async with http.post(f"{site.base}/wunsch/neu", data=data) as response:
            html = await response.text()
        assert "Ähnliche Themenwünsche" in note(html) and f"T{wish.id}" in note(html)
        async with http.post(f"{site.base}/wunsch/neu", data=data | {"trotzdem": "ja"}) as response:
            html = await response.text()
        assert "Mobiles Arbeiten im Rathaus" in note(html) and "im Raum" in note(html)
        async with http.post(f"{site.base}/wunsch/neu", data=data | {"raum": OWN, "trotzdem": "ja"}) as response:
            assert "offiziellen Raum" in note(await response.text())
    posts = [c["body"] for room, c, _ in site.outbox.sent if room == ROOM]
    assert any("Mobiles Arbeiten im Rathaus" in p for p in posts)  # the wish's post in the room


async def test_municipality_calendar_and_ones_data_from_ich(site):
    await seed(site.db)
    async with browser() as http:
        csrf = await signed_in(site, http)
        async with http.post(f"{site.base}/kommune", data={"csrf": csrf, "kommune": "guetersloh"}) as response:
            html = await response.text()
        assert "Ihre Kommune: Gütersloh" in note(html) and "Ihre Kommune: Gütersloh. Sie wird" in html
        _, html = await post(http, f"{site.base}/kalender/abonnieren", csrf)
        assert "privat geschickt" in note(html)
        (room, sent, _) = site.outbox.sent[-1]
        assert room == f"!dm-{BERND}" and "/kalender/p/" in sent["body"]
        async with http.get(f"{site.base}/ich/daten") as response:
            assert response.headers["Content-Disposition"].startswith("attachment")
            exported = await response.json(content_type=None)
        assert exported["user_id"] == BERND and exported["municipality"]["name"] == "Gütersloh"
        assert len(exported["web_sessions"]) == 1
        _, html = await post(http, f"{site.base}/ich/daten-loeschen", csrf)
        assert "Nichts gelöscht" in note(html)
        async with http.post(f"{site.base}/ich/daten-loeschen", data={"csrf": csrf, "bestaetigen": "ja"}) as response:
            assert "Ihre Daten sind gelöscht" in await response.text()
        async with http.get(f"{site.base}/ich") as response:
            assert response.status == 401  # signed out with everything else
    async with site.db.transaction() as s:
        assert (await export.person_data(s, BERND)).municipality is None


async def test_a_past_session_is_rated_from_ich_without_a_name(site):
    numbers = await seed(site.db)
    async with site.db.transaction() as s:
        await save(
            s,
            Registration(
                session_id=numbers["past"],
                user_id=BERND,
                status=RegistrationStatus.REGISTERED,
                queued_at=NOW,
                updated_at=NOW,
            ),
        )
    async with browser() as http:
        csrf = await signed_in(site, http)
        html = await (await http.get(f"{site.base}/ich")).text()
        assert f"#{numbers['past']} Vergangen" in html and "Termine bewerten" in html
        url = f"{site.base}/termin/{numbers['past']}/bewertung"
        async with http.post(url, data={"csrf": csrf, "satz": "ohne Zahl"}) as response:
            assert "Bewertung von 1 bis 5" in note(await response.text())
        async with http.post(url, data={"csrf": csrf, "bewertung": "4", "satz": "Gute Beispiele"}) as response:
            assert "ohne Ihren Namen" in note(await response.text())
        async with http.post(
            f"{site.base}/termin/{numbers['ozg']}/bewertung", data={"csrf": csrf, "bewertung": "5"}
        ) as r:
            assert "noch nicht vorbei" in note(await r.text())
    async with site.db.transaction() as s:
        (answer,) = await feedback.answers(s, numbers["past"])
    assert answer.rating == 4 and answer.respondent != BERND and BERND not in (answer.respondent or "")


async def test_the_page_speaks_the_browsers_language_and_the_notices_the_bots(site):
    numbers = await seed(site.db)
    async with browser() as http:
        csrf = await signed_in(site, http, "@a:localhost")
        data = {"csrf": csrf, "weiter": "ich"}
        english = {"Accept-Language": "en-GB,en;q=0.9"}
        async with http.post(f"{site.base}/termin/{numbers['storm']}/abmelden", data=data, headers=english) as r:
            html = await r.text()
    assert "Your registration for" in note(html) and 'lang="en"' in html
    (room, told, _) = site.outbox.sent[-1]
    assert room == "!dm-@c:localhost" and "Platz" in told["body"]  # the person moved up reads German


async def test_a_coordinator_plans_a_wish_as_a_session_and_staff_may_not(site):
    await seed(site.db)
    async with site.db.transaction() as s:
        wish = (await topics.open_topics(s, Scope([ROOM])))[0].topic
    async with browser() as http:
        csrf = await signed_in(site, http)
        url = f"{site.base}/wunsch/{wish.id}/planen"
        async with http.post(url, data={"csrf": csrf, "wann": "Do 10.12.2026 14-16 Uhr"}) as response:
            assert "Koordination" in note(await response.text())  # refused by the use case
    async with browser() as http:
        csrf = await signed_in(site, http, COORDINATOR)
        async with http.post(url, data={"csrf": csrf, "wann": "Do 10.12.2026 14-16 Uhr | Plätze: 30"}) as response:
            html = await response.text()
        assert f"T{wish.id} ist damit geplant" in note(html) and "Mobiles Arbeiten" in html
    told = [room for room, content, _ in site.outbox.sent if "Mobiles Arbeiten" in content["body"]]
    assert "!dm-@a:localhost" in told  # the proposer learns it


async def test_offers_and_needs_contact_and_ones_own_entries_from_ich(site):
    await seed(site.db)
    async with site.db.transaction() as s:
        drones = (await board.search(s, "Drohnen", NOW, 5))[0]
    async with browser() as http:
        csrf = await signed_in(site, http)
        html = await (await http.get(f"{site.base}/ich")).text()
        assert f"A{drones.id} · Angebot" in html and "@author" not in html
        offer = {"csrf": csrf, "art": "gesuch", "kategorie": "Digitalisierung/OZG", "titel": "Drohnenbilder"}
        async with http.post(f"{site.base}/brett/neu", data=offer) as response:
            assert "Kommune" in note(await response.text())  # refused: no municipality yet
        await http.post(f"{site.base}/kommune", data={"csrf": csrf, "kommune": "Lippstadt"})
        async with http.post(f"{site.base}/brett/neu", data=offer) as response:
            html = await response.text()
        assert "„Drohnenbilder“ am Brett" in note(html)
        mine = re.search(r"(A\d+) · Gesuch · Digitalisierung/OZG · Drohnenbilder · offen", html)
        assert mine, html
        number = mine.group(1)[1:]
        async with http.post(f"{site.base}/brett/{number}/stand", data={"csrf": csrf, "stand": "agreed"}) as response:
            assert "steht jetzt auf vereinbart" in note(await response.text())
        async with http.post(f"{site.base}/brett/{drones.id}/kontakt", data={"csrf": csrf}) as response:
            assert "Raum für Sie und die Person hinter" in note(await response.text())
        async with http.post(f"{site.base}/brett/{number}/kontakt", data={"csrf": csrf}) as response:
            assert "Ihr eigener Eintrag" in note(await response.text())  # refused by the use case
    async with site.db.transaction() as s:
        assert [c.asked_by for c, _ in (await export.person_data(s, BERND)).board_contacts] == [BERND]


def test_a_form_that_meets_the_database_away_asks_to_try_again_and_names_no_error():
    """A moment without the database (locked, connection lost) is no fault of ours: nothing was
    done, the page asks to try again; anything else is answered with a reference, never its text."""
    voice = Voice("de", "!", ZoneInfo("Europe/Berlin"), NOW)
    request: Any = SimpleNamespace(path="/termin/1/anmelden")
    said = WebFace._failed(request, voice, ConnectionResetError("secret detail"))
    assert "ausgelastet" in said and "secret" not in said
    said = WebFace._failed(request, voice, RuntimeError("secret detail /srv/db"))
    assert "Ref." in said and "secret" not in said and "/srv" not in said
