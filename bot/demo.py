"""`make demo`: a throwaway Synapse on loopback, two demo users, a room, a few sessions, the bot."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from nio import AsyncClient, RoomCreateResponse

from bot.app import Bot
from bot.config import load_config
from bot.devserver import Synapse, free_port, port_is_free
from storage.models import Material, Session
from storage.planned import plan_session
from storage.rows import save

BOT = ("regiobot", "regiobot-demo-passwort")
COORDINATOR = ("anna", "anna-demo")
STAFF = ("bernd", "bernd-demo")
ROOM_NAME = "Regiopol Akademie (Demo)"
WEB_PORT = 8080

SESSIONS = (
    # title, talk, speaker, days ahead, start hour, capacity
    ("Kommunale Wärmeplanung", "Schulterblick aus der Praxis: Wärmeplan in 12 Monaten", "Stadt Gütersloh", 10, 14, 2),
    ("OZG in der Praxis", "Online-Dienste, die Bürgerinnen und Bürger wirklich nutzen", "Kreis Paderborn", 24, 10, 30),
    ("Starkregenvorsorge", "Gefahrenkarten und Kommunikation", "Stadt Bielefeld", 45, 14, None),
)
# A session that took place, with its protocol and slides: the archive page shows it.
PAST = ("Mobiles Arbeiten", "Dienstvereinbarung und Praxis", "Kreis Gütersloh", -21, 10)
LINK = "https://meet.example.org/regiopol-akademie"
PROTOCOL = "https://example.org/regiopol/protokoll-mobiles-arbeiten.pdf"
SLIDES = "https://example.org/regiopol/folien-mobiles-arbeiten.pdf"

CONFIG = """# Demo configuration written by `regiobot demo`; see config.example.toml for every key.
[matrix]
homeserver = "{url}"
user_id = "{bot_id}"
password = "{password}"
device_id = "REGIOBOTDEMO"
store_dir = "store"
# Made anew with the demo's folder; a real deployment keeps its own in REGIOBOT_STORE_KEY.
store_key = "{store_key}"

[storage]
url = "sqlite+aiosqlite:///{db}"

[bot]
timezone = "Europe/Berlin"
language = "de"

[roles]
coordinators = ["{coordinator}"]

# The demo room is an official room of both regions: roles and sessions count there.
[rooms]
"{room_id}" = "beide"

# Calendar feeds and the archive pages.
[web]
listen = "127.0.0.1:{web_port}"
public_url = "http://127.0.0.1:{web_port}"
"""


def _local_at(days: int, hour: int) -> datetime:
    zone = ZoneInfo("Europe/Berlin")
    day = (datetime.now(zone) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone)


async def _create_room(synapse: Synapse, bot_id: str) -> str:
    """Anna creates the room and invites the bot; Bernd joins."""
    anna = AsyncClient(synapse.url, synapse.user_id(COORDINATOR[0]))
    bernd = AsyncClient(synapse.url, synapse.user_id(STAFF[0]))
    try:
        await anna.login(COORDINATOR[1])
        await bernd.login(STAFF[1])
        created = await anna.room_create(
            name=ROOM_NAME, topic="Termine, Anmeldung und Fragen – Demo", invite=[bot_id, bernd.user_id]
        )
        if not isinstance(created, RoomCreateResponse):
            raise RuntimeError(f"could not create the demo room: {created}")
        await bernd.join(created.room_id)
        return str(created.room_id)
    finally:
        await anna.close()
        await bernd.close()


def _session(room_id: str, coordinator: str, created_at: datetime, days: int, hour: int, **fields: Any) -> Session:
    start = _local_at(days, hour)
    return Session(
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        room_id=room_id,
        created_by=coordinator,
        created_at=min(created_at, start),
        **fields,
    )


async def _seed(bot: Bot, room_id: str, coordinator: str) -> None:
    now = datetime.now(UTC)
    async with bot.db.transaction() as s:
        for title, talk, speaker, days, hour, capacity in SESSIONS:
            fields = {"title": title, "talk": talk, "speaker": speaker, "capacity": capacity, "link": LINK}
            session = await save(s, _session(room_id, coordinator, now, days, hour, **fields))
            await plan_session(s, session, bot.config, now)
        title, talk, speaker, days, hour = PAST
        fields = {"title": title, "talk": talk, "speaker": speaker, "region": "Bielefeld", "protocol_url": PROTOCOL}
        past = await save(s, _session(room_id, coordinator, now, days, hour, **fields))
        await save(s, Material(session_id=past.number, url=SLIDES, title="Folien", added_by=coordinator, added_at=now))


def _banner(synapse: Synapse, web: str) -> str:
    return f"""
================================================================================
 regiobot-Demo läuft / demo is running

 Homeserver:  {synapse.url}   (nur auf diesem Rechner / loopback only)
 Raum:        „{ROOM_NAME}“ (Sie sind schon Mitglied)

 Anmelden mit einem beliebigen Matrix-Client (z. B. Element Desktop:
 „Homeserver bearbeiten“ → {synapse.url}):
   Koordination:  {COORDINATOR[0]}  /  Passwort {COORDINATOR[1]}
   Teilnehmer:    {STAFF[0]}  /  Passwort {STAFF[1]}

 Kalender zum Abonnieren (Outlook, Thunderbird) / calendar feeds:
   {web}/kalender.ics   {web}/kalender/bielefeld.ics   {web}/kalender/paderborn.ics
 Programm / programme:  {web}/programm   Archiv / archive:  {web}/archiv
 Im Browser anmelden / sign in on the web: im Raum !web (der Link kommt per Direktnachricht)
 Persönlicher Kalender / personal feed: im Raum !kalender abonnieren

 Probieren Sie im Raum:  !termine   !termin #1   !anmelden #1   !meine
   !abmelden #1   !erinnerung an   !hilfe   – oder ✅ unter einer Einladung.
 Als anna:  !termin neu Test | morgen 10 Uhr | Plätze: 5   !status
   !protokoll #1 https://example.org/protokoll.pdf   !nachbereitung #1 Danke!
 (#1 hat nur 2 Plätze: melden Sie beide an und sehen Sie die Warteliste.)

 Beenden mit Strg+C / stop with Ctrl+C. Alles liegt in .demo/ und wird beim
 nächsten Start neu angelegt.
================================================================================
"""


async def run_demo(directory: Path, port: int) -> int:
    """Start everything, run the bot until Ctrl+C, then stop Synapse."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    directory = directory.resolve()
    if not port_is_free(port):
        port = free_port()
    synapse = Synapse(directory / "synapse", port=port)
    print("Starte Synapse auf 127.0.0.1 … / starting Synapse …", flush=True)
    try:
        await synapse.start()
        bot_id = await synapse.register(*BOT)
        coordinator = await synapse.register(*COORDINATOR)
        await synapse.register(*STAFF)
        room_id = await _create_room(synapse, bot_id)
        web_port = WEB_PORT if port_is_free(WEB_PORT) else free_port()
        config_path = directory / "config.toml"
        config_path.write_text(
            CONFIG.format(
                url=synapse.url,
                bot_id=bot_id,
                password=BOT[1],
                db=directory / "regiobot.db",
                coordinator=coordinator,
                store_key=secrets.token_hex(32),
                room_id=room_id,
                web_port=web_port,
            )
        )
        bot = Bot(load_config(config_path, os.environ))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, bot.stop)
        await bot.start()
        await _seed(bot, room_id, coordinator)
        runner = asyncio.create_task(bot.run())
        ready = asyncio.create_task(bot.ready.wait())
        await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if bot.ready.is_set():
            print(_banner(synapse, f"http://127.0.0.1:{web_port}"), flush=True)
        await runner
        await bot.close()
    finally:
        synapse.stop()
    return 0
