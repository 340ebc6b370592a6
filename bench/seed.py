"""Rows written straight into the bot's database (before it starts, or while it is idle)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlmodel import col

from bot.config import Config
from rules.board import DEFAULT_CATEGORIES
from storage import board_search
from storage.db import Database
from storage.models import BoardEntry, PersonSettings, Registration, RegistrationStatus, Session
from storage.planned import plan_session
from storage.rows import save

BATCH = 5_000


def session_row(room_id: str, title: str, starts_at: datetime, capacity: int | None, now: datetime) -> dict:
    return {
        "title": title,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=1),
        "capacity": capacity,
        "room_id": room_id,
        "status": "scheduled",
        "sequence": 0,
        "created_by": "@bench:localhost",
        "created_at": now,
    }


async def add_sessions(db: Database, room_id: str, specs: list[tuple[str, timedelta, int | None]]) -> list[int]:
    """Sessions (title, starts in, capacity) in `room_id`; returns their numbers."""
    now = datetime.now(UTC)
    ids = []
    async with db.transaction() as s:
        for title, starts_in, capacity in specs:
            session = await save(s, Session(**session_row(room_id, title, now + starts_in, capacity, now)))
            ids.append(int(session.id or 0))
    return ids


async def register(db: Database, session_id: int, user_ids: list[str], dm_reminders: bool = False) -> None:
    """`user_ids` registered for a session (in this order), optionally asking for reminder DMs."""
    now = datetime.now(UTC)
    rows = [
        {
            "session_id": session_id,
            "user_id": u,
            "status": RegistrationStatus.REGISTERED,
            "queued_at": now + timedelta(microseconds=i),
            "updated_at": now,
        }
        for i, u in enumerate(user_ids)
    ]
    async with db.transaction() as s:
        await s.execute(insert(Registration.__table__), rows)
        if dm_reminders:
            known = set((await s.execute(select(PersonSettings.user_id))).scalars())
            await s.execute(
                update(PersonSettings)
                .where(col(PersonSettings.user_id).in_(known & set(user_ids)))
                .values(dm_reminders=True)
            )
            settings = [{"user_id": u, "dm_reminders": True, "updated_at": now} for u in user_ids if u not in known]
            if settings:
                await s.execute(insert(PersonSettings.__table__), settings)


async def bulk(db: Database, room_id: str, sessions: int, registrations: int, people: int = 10_000) -> None:
    """`sessions` sessions (half past, half to come) with `registrations` spread evenly over them."""
    now = datetime.now(UTC)
    per_session = max(1, registrations // sessions)
    async with db.transaction() as s:
        first = (await s.execute(select(Session.id).order_by(Session.id.desc()).limit(1))).scalar() or 0
        rows = [
            session_row(room_id, f"Archiv {i}", now + timedelta(hours=6 * (i - sessions // 2)), 30, now)
            for i in range(sessions)
        ]
        for start in range(0, len(rows), BATCH):
            await s.execute(insert(Session.__table__), rows[start : start + BATCH])
        batch: list[dict] = []
        for i in range(sessions):
            for k in range(per_session):
                batch.append(
                    {
                        "session_id": first + 1 + i,
                        "user_id": f"@seed{(i * 7 + k * 1013) % people}:localhost",
                        "status": RegistrationStatus.REGISTERED if k < 8 else RegistrationStatus.WAITLISTED,
                        "queued_at": now + timedelta(microseconds=k),
                        "updated_at": now,
                    }
                )
                if len(batch) >= BATCH:
                    await s.execute(insert(Registration.__table__), batch)
                    batch = []
        if batch:
            await s.execute(insert(Registration.__table__), batch)


async def reminded_session(
    db: Database, config: Config, room_id: str, starts_in: timedelta, user_ids: list[str]
) -> tuple[int, datetime]:
    """A session with its reminder planned (as the bot plans it) and `user_ids` registered, all
    asking for reminders by direct message; returns its number and when the reminder is due."""
    now = datetime.now(UTC)
    async with db.transaction() as s:
        session = await save(s, Session(**session_row(room_id, "Erinnerungstest", now + starts_in, None, now)))
        await plan_session(s, session, config, now)
    assert session.id is not None
    await register(db, session.id, user_ids, dm_reminders=True)
    return session.id, session.starts_at - config.remind_before[0]


# Parts of the compounds the board's seeded entries are written in (German administration).
FIRST_PARTS = (
    "Vergabe", "Förder", "Personal", "Klima", "Wärme", "Digital", "Bau", "Straßen", "Schul", "Abwasser",
    "Bürger", "Verkehrs", "Energie", "Sozial", "Jugend", "Kita", "Feuerwehr", "Friedhofs", "Wasser", "Haushalts",
)  # fmt: skip
SECOND_PARTS = (
    "stelle", "verfahren", "beratung", "pool", "konzept", "planung", "programm", "management", "amt",
    "verwaltung", "projekt", "netzwerk", "leitung", "service", "fachkraft", "ordnung",
)  # fmt: skip


def board_text(pick: random.Random, length: int = 0) -> str:
    """Sentences about compounds of common parts: one, or as many as fill `length` characters."""
    sentences: list[str] = []
    while not sentences or sum(len(x) + 1 for x in sentences) <= length:
        first, second, third = (pick.choice(FIRST_PARTS) + pick.choice(SECOND_PARTS) for _ in range(3))
        sentences.append(f"Wir teilen unsere {first} mit {second} für die {third} der Region.")
    text = " ".join(sentences)
    return text[:length].rstrip() if length else text


async def board_entries(db: Database, count: int, seed: int = 12, length: int = 0, authors: Sequence[str] = ()) -> None:
    """`count` open board entries (offers and needs, every category) whose titles and descriptions
    are compounds of common parts (descriptions of `length` characters, or one sentence), by
    `authors` in turn (or 500 made-up people), and the search index over them."""
    authors = authors or [f"@seed{n}:localhost" for n in range(500)]
    now = datetime.now(UTC)
    pick = random.Random(seed)

    def compound() -> str:
        return pick.choice(FIRST_PARTS) + pick.choice(SECOND_PARTS)

    rows = [
        {
            "kind": "offer" if i % 2 else "need",
            "category": DEFAULT_CATEGORIES[i % len(DEFAULT_CATEGORIES)],
            "title": f"{compound()} und {compound()}",
            "description": board_text(pick, length),
            "municipality": "Verl",
            "author": authors[i % len(authors)],
            "state": "open",
            "created_at": now,
            "updated_at": now,
            "expires_at": now + timedelta(days=90),
        }
        for i in range(count)
    ]
    async with db.transaction() as s:
        conn = await s.connection()
        for start in range(0, len(rows), BATCH):
            await conn.execute(insert(BoardEntry.__table__), rows[start : start + BATCH])
        await board_search.rebuild(s)
