"""The web face in a real Chromium against a running bot and a throwaway Synapse: from `!web` in
the room to a registration on `/ich` (keyboard only, JavaScript off) and the announcement in the
room showing one place fewer; axe-core on `/programm`, `/ich` and `/widget`; the room widget in a
page that plays Element's part with a real OpenID token; and the refusals (a reused link, a form
without its CSRF token, a server that is not allowed)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from nio import RoomPutStateError

from bot.devserver import free_port
from tests.e2e.people import Person, body, shared_room
from tests.e2e.sessions import edits_of, from_bot
from tests.e2e.test_web_pages import (  # noqa: F401 (browser_required: the fixture, skipping without Chromium)
    CHROMIUM,
    CHROMIUM_ARGS,
    RESULTS,
    browser_required,
    check_accessibility,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.usefixtures("browser_required")]

BERLIN = ZoneInfo("Europe/Berlin")
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+)")


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


def in_days(days: int) -> str:
    return f"{datetime.now(BERLIN) + timedelta(days=days):%d.%m.%Y}"


async def login_link(person: Person, room: str, bot_id: str) -> str:
    """`!web` in the room: the answer says it went privately, a new link comes by direct message."""
    seen = {m.group(1) for e in person.events if (m := LINK.search(body(e)))}
    answer = await person.ask(room, "!web")
    assert "privat" in body(answer) and "/login/" not in body(answer)

    def new_link(event: dict[str, Any]) -> bool:
        found = LINK.search(body(event))
        return event["sender"] == bot_id and event["room_id"] != room and bool(found) and found.group(1) not in seen

    message = (await person.wait_for(new_link))[0]
    match = LINK.search(body(message))
    assert match
    return match.group(1)


async def started(
    people: Any, bot_config: Any, run_bot: Any, widget_host: str = ""
) -> tuple[Any, Person, Person, str, str]:
    """A bot with its web pages, a coordinator and a member in an official room, and a session in
    three days with two places whose invitation is in the room."""
    anna, bernd = await people("anna"), await people("bernd")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_section: dict[str, Any] = {"listen": f"127.0.0.1:{port}", "public_url": base}
    if widget_host:
        web_section["widget_hosts"] = [widget_host]
    config = await bot_config(coordinators=[anna.user_id], web=web_section, schedule={"announce_before": ["10d"]})
    bot = await run_bot(config)
    room = await shared_room(anna, bot.user_id, bernd)
    created = await anna.ask(room, f"!termin neu Starkregenvorsorge | {in_days(3)} 14 Uhr | Plätze: 2")
    assert "#1 angelegt" in body(created)
    invitation = (await bernd.wait_for(from_bot(bot.user_id, room, "Einladung"), timeout=15))[0]
    assert "2 von 2 Plätzen frei" in body(invitation)
    return bot, anna, bernd, room, base


async def tab_to_button(page: Any, label: str, limit: int = 80) -> None:
    """Press Tab until the button named `label` has the focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        name = await page.evaluate("() => document.activeElement.getAttribute('aria-label') || ''")
        if name == label:
            return
    raise AssertionError(f"no button {label!r} within {limit} presses of Tab")


async def test_from_web_in_the_room_to_a_registration_on_ich(people, bot_config, run_bot, chromium):
    bot, _, bernd, room, base = await started(people, bot_config, run_bot)
    invitation = (await bernd.wait_for(from_bot(bot.user_id, room, "Einladung")))[0]

    # JavaScript off: signing in and every form work without it, by keyboard alone.
    plain = await chromium.new_context(java_script_enabled=False, locale="de-DE")
    page = await plain.new_page()
    link = await login_link(bernd, room, bot.user_id)
    await page.goto(link)
    assert page.url == f"{base}/ich" and "Sie sind angemeldet als" in await page.locator("main").inner_text()
    await tab_to_button(page, "Für Starkregenvorsorge anmelden")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{base}/ich"
    assert "Sie sind angemeldet für #1 „Starkregenvorsorge“" in await page.locator(".note").inner_text()
    await bernd.wait_for(edits_of(invitation["event_id"], "1 von 2 Plätzen frei"), timeout=15)
    mine = body(await bernd.ask(room, "!meine"))
    assert "Starkregenvorsorge" in mine and "angemeldet" in mine

    # Reused link: refused with a clear page. A form without its CSRF token: refused too.
    reused = await page.goto(link)
    assert reused is not None and reused.status == 410
    assert "Dieser Link gilt nicht mehr" in await page.locator("h1").inner_text()
    forged = await page.request.post(f"{base}/termin/1/abmelden", form={"weiter": "ich"}, max_redirects=0)
    assert forged.status == 403 and "nicht mehr gültig" in await forged.text()
    await page.goto(f"{base}/ich")
    assert "Platz sicher" in await page.locator("main").inner_text()  # still registered
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    staff = await page.request.post(f"{base}/termin/1/absagen", form={"csrf": csrf, "grund": "keine Lust"})
    assert "Koordination" in await staff.text()  # a staff member's coordinator form: refused by the use case
    assert "abgesagt" not in body(await bernd.ask(room, "!termin #1"))

    await tab_to_button(page, "Von Starkregenvorsorge abmelden")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "abgemeldet" in await page.locator(".note").inner_text()
    await bernd.wait_for(edits_of(invitation["event_id"], "2 von 2 Plätzen frei"), timeout=15)
    await plain.close()

    # With JavaScript (for axe-core): the programme and one's page meet WCAG 2.1 AA.
    context = await chromium.new_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(await login_link(bernd, room, bot.user_id))
    await check_accessibility(page, "ich")
    await page.goto(f"{base}/programm")
    assert "Starkregenvorsorge" in await page.locator("main").inner_text()
    assert "@" not in await page.locator("main").inner_text()
    await check_accessibility(page, "programm")
    await context.close()


def element_page(widget_url: str, widget_origin: str, token: dict[str, Any]) -> str:
    """A page that plays Element's part: it frames the widget, asks its capabilities once the frame
    has loaded, and answers get_openid with the token."""
    return f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Element (Test)</title></head>
<body><main><h1>Raum</h1>
<iframe id="widget" title="Programm" src="{widget_url}" style="width:900px;height:1400px"></iframe></main>
<script>
const token = {json.dumps(token)};
const origin = {json.dumps(widget_origin)};
const frame = document.getElementById("widget");
window.heard = [];
frame.addEventListener("load", () => {{
  const ask = {{api: "toWidget", widgetId: "regiobot_programm", requestId: "cap-" + Date.now()}};
  frame.contentWindow.postMessage(Object.assign(ask, {{action: "capabilities", data: {{}}}}), origin);
}});
window.addEventListener("message", (event) => {{
  if (event.origin !== origin) return;
  const message = event.data;
  window.heard.push(message.action + (message.response ? ":response" : ""));
  if (message.api === "fromWidget" && message.action === "get_openid") {{
    const credentials = Object.assign({{state: "allowed"}}, token);
    frame.contentWindow.postMessage(Object.assign({{}}, message, {{response: credentials}}), origin);
  }}
}});
</script></body></html>"""


async def give_power(person: Person, room: str, user_id: str, level: int) -> None:
    client = person.client
    current = await client.room_get_state_event(room, "m.room.power_levels")
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user_id: level}
    response = await client.room_put_state(room, "m.room.power_levels", content)
    assert not isinstance(response, RoomPutStateError), response


async def openid_token(person: Person) -> dict[str, Any]:
    """A real OpenID token from the homeserver, as Element's get_openid returns it."""
    client = person.client
    url = f"{client.homeserver}/_matrix/client/v3/user/{client.user_id}/openid/request_token"
    headers = {"Authorization": f"Bearer {client.access_token}"}
    async with aiohttp.ClientSession() as http, http.post(url, json={}, headers=headers) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def host(html: str, port: int) -> TestServer:
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", serve)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return server


async def test_the_widget_signs_in_with_matrix_and_registers(people, bot_config, run_bot, chromium):
    element_port = free_port()
    element = f"http://127.0.0.1:{element_port}"
    bot, anna, bernd, room, base = await started(people, bot_config, run_bot, widget_host=element)
    invitation = (await bernd.wait_for(from_bot(bot.user_id, room, "Einladung")))[0]
    refused = await anna.ask(room, "!raum widget")
    assert "Berechtigungsstufe 50" in body(refused)  # the bot may not set room state yet
    await give_power(anna, room, bot.user_id, 50)
    for _ in range(20):  # until the bot's sync has seen its new power level
        pinned = await anna.ask(room, "!raum widget")
        if "angeheftet" in body(pinned):
            break
        await asyncio.sleep(0.5)
    assert "angeheftet" in body(pinned)
    widget_state = (await anna.wait_for(lambda e: e.get("type") == "im.vector.modular.widgets", timeout=15))[0]
    assert widget_state["state_key"] == "regiobot_programm" and widget_state["content"]["url"].startswith(base)
    await anna.wait_for(lambda e: e.get("type") == "io.element.widgets.layout", timeout=15)

    token = await openid_token(bernd)
    widget_url = widget_state["content"]["url"].replace("$matrix_widget_id", "regiobot_programm")
    server = await host(element_page(widget_url, base, token), element_port)
    try:
        context = await chromium.new_context(locale="de-DE")
        page = await context.new_page()
        await page.goto(element)
        frame = page.frame_locator("#widget")
        await frame.get_by_text("Sie sind angemeldet als").wait_for(timeout=15_000)
        assert "get_openid" in await page.evaluate("() => window.heard.join(' ')")
        await frame.get_by_role("button", name="Für Starkregenvorsorge anmelden").click()
        await frame.locator(".note").wait_for(timeout=15_000)
        assert "Sie sind angemeldet für #1" in await frame.locator(".note").inner_text()
        await bernd.wait_for(edits_of(invitation["event_id"], "1 von 2 Plätzen frei"), timeout=15)
        RESULTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(RESULTS / "widget-in-element.png"), full_page=True)
        alone = await context.new_page()  # the widget's page as the frame shows it, checked on its own
        await alone.goto(f"{base}/widget")
        assert "Ihre Anmeldung" in await alone.locator("main").inner_text()
        await check_accessibility(alone, "widget")
        await context.close()
    finally:
        await server.close()

    # The same token claimed for a server that is not allowed: refused.
    async with aiohttp.ClientSession() as http:
        claim = {"access_token": token["access_token"], "matrix_server_name": "matrix.example.org"}
        async with http.post(f"{base}/widget/anmelden-mit-matrix", json=claim) as response:
            assert response.status == 403 and "dieses Matrix-Servers" in (await response.json())["error"]
