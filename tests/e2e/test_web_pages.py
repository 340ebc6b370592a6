"""/archiv and /termin/<N> in a real Chromium (Debian's `chromium`, driven by Playwright): followed
by keyboard alone, checked with axe-core for WCAG 2.1 A and AA, read without JavaScript, and
photographed into `test-results/`.

The browser is the system's (`/usr/bin/chromium`); Playwright never downloads one. Where it or
Playwright is missing the test is skipped, and fails instead when REGIOBOT_REQUIRE_BROWSER is
set (as in CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, parse_config
from bot.devserver import free_port
from bot.rooms import OfficialRooms
from bot.web import WebServer
from storage.db import Database
from storage.models import Material, Session
from storage.rows import save

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path(os.environ.get("REGIOBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RESULTS = Path(__file__).parents[2] / "test-results"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
OFFICIAL, OWN = "!official:localhost", "!own:localhost"


def browser_missing() -> str | None:
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        return f"Playwright or axe-playwright-python is not installed ({exc})"
    if not CHROMIUM.is_file() and not shutil.which(str(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser_required() -> None:
    reason = browser_missing()
    if reason:
        if os.environ.get("REGIOBOT_REQUIRE_BROWSER"):
            pytest.fail(f"the browser tests must run here: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")


async def seed(db: Database) -> dict[str, int]:
    """Two past sessions of the official room (one with protocol and material), one upcoming, and
    a past one of a room that is not official."""
    now = datetime.now(UTC)
    numbers = {}
    async with db.transaction() as s:
        for key, room, days, fields in [
            (
                "heat",
                OFFICIAL,
                -40,
                {
                    "title": "Kommunale Wärmeplanung",
                    "region": "Bielefeld",
                    "talk": "Wärmeplan in 12 Monaten",
                    "speaker": "Stadt Gütersloh",
                    "protocol_url": "https://example.org/protokoll-waerme.pdf",
                },
            ),
            (
                "ozg",
                OFFICIAL,
                -400,
                {"title": "OZG in der Praxis", "region": "Paderborn", "speaker": "Kreis Paderborn"},
            ),
            (
                "next",
                OFFICIAL,
                20,
                {"title": "Starkregenvorsorge", "region": "Bielefeld, Paderborn", "link": "https://meet.example.org/s"},
            ),
            ("own", OWN, -10, {"title": "Privates Treffen"}),
        ]:
            start = now + timedelta(days=days)
            session = await save(
                s,
                Session(
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    room_id=room,
                    created_by="@anna:localhost",
                    created_at=start - timedelta(days=30),
                    **fields,
                ),
            )
            numbers[key] = session.number
        await save(
            s,
            Material(
                session_id=numbers["heat"],
                url="https://example.org/folien-waerme.pdf",
                title="Folien",
                added_by="@anna:localhost",
                added_at=now,
            ),
        )
    return numbers


@pytest.fixture
async def site(browser_required: None, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """The web server of a bot (no homeserver needed) on a free port, with sessions to show."""
    port = free_port()
    config: Config = parse_config(
        {
            "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:localhost", "password": "x"},
            "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'web.db'}"},
            "rooms": {OFFICIAL: "beide"},
            "web": {"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"},
        },
        {},
        tmp_path,
    )
    assert config.web is not None
    db = Database(config.storage_url)
    await db.migrate()
    numbers = await seed(db)
    server = WebServer(config, config.web, db, OfficialRooms(config.official_rooms), lambda: datetime.now(UTC))
    await server.start()
    yield f"http://127.0.0.1:{port}", numbers
    await server.stop()
    await db.close()


async def check_accessibility(page: Any, name: str) -> None:
    """axe-core finds no violation of WCAG 2.1 A or AA; a screenshot goes to test-results/."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_A_AA}})
    report = results.response
    assert report["testEngine"]["name"] == "axe-core"
    violations = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in report["violations"]]
    assert violations == [], f"{name}: {violations}"
    checked = {rule["id"] for rule in report["passes"]}  # the rules axe ran and found met
    assert {"color-contrast", "html-has-lang", "document-title", "bypass", "link-name"} <= checked, checked
    RESULTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)


async def focused(page: Any) -> dict[str, str]:
    return await page.evaluate(
        "() => ({tag: document.activeElement.tagName, text: document.activeElement.textContent.trim(),"
        " href: document.activeElement.getAttribute('href') || '', id: document.activeElement.id})"
    )


async def tab_to(page: Any, href: str, limit: int = 60) -> None:
    """Press Tab until the link to `href` has the focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if (await focused(page))["href"] == href:
            return
    raise AssertionError(f"no link to {href} within {limit} presses of Tab")


async def test_archive_and_session_page_by_keyboard_accessible_and_without_javascript(site):
    from playwright.async_api import async_playwright

    base, numbers = site
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(locale="de-DE")
            response = await page.goto(f"{base}/archiv")
            assert response is not None and response.status == 200
            assert await page.get_attribute("html", "lang") == "de"
            assert await page.title() == "Archiv der Regiopol Akademie – Regiopol Akademie"
            years = await page.locator("main h2").all_inner_texts()
            assert years == sorted(years, reverse=True) and len(years) == 2
            text = await page.locator("main").inner_text()
            assert "Kommunale Wärmeplanung" in text and "Stadt Gütersloh" in text and "Folien" in text
            assert "Privates Treffen" not in text and "Starkregenvorsorge" not in text
            assert "@anna" not in await page.content()
            await check_accessibility(page, "archiv")

            # Keyboard: the first Tab reaches the skip link, Enter moves the focus into the content.
            await page.keyboard.press("Tab")
            assert (await focused(page))["text"] == "Zum Inhalt springen"
            assert await page.locator(".skip").evaluate("e => e.getBoundingClientRect().top >= 0")  # shown on focus
            await page.keyboard.press("Enter")
            assert page.url.endswith("#inhalt") and (await focused(page))["id"] == "inhalt"
            path = f"/termin/{numbers['heat']}"
            await tab_to(page, path)
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert page.url == f"{base}{path}"
            assert await page.locator("h1").inner_text() == f"#{numbers['heat']} Kommunale Wärmeplanung"
            assert await page.locator("a[href='https://example.org/protokoll-waerme.pdf']").count() == 1
            await check_accessibility(page, "termin")
            await tab_to(page, "/archiv")
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert page.url == f"{base}/archiv"

            # An upcoming session's page, and one of a room that is not official.
            await page.goto(f"{base}/termin/{numbers['next']}")
            assert "https://meet.example.org/s" in await page.locator("main").inner_text()
            await check_accessibility(page, "termin-kommend")
            missing = await page.goto(f"{base}/termin/{numbers['own']}")
            assert missing is not None and missing.status == 404
            assert "Privates Treffen" not in await page.content()
            await check_accessibility(page, "nicht-gefunden")

            # Readable without JavaScript.
            plain = await browser.new_context(java_script_enabled=False)
            bare = await plain.new_page()
            await bare.goto(f"{base}/archiv")
            assert "Kommunale Wärmeplanung" in await bare.locator("main").inner_text()
            await plain.close()
        finally:
            await browser.close()
