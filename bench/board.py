"""Matching a new board entry on a full board: `python -m bench.board`.

A throwaway SQLite database (or `--url`) gets `--entries` open entries with descriptions of
`--length` characters (longer than a card shows today, like rows written before the limit), all
of the same few words, so every entry shares words with every other: the worst case for the
search index and for the comparison. Then new entries of the longest allowed size go onto the
board one by one, and what `!biete` / `!suche` do besides writing is timed: reading the
candidates from the search index, and comparing them with the new entry. The comparison is
what runs on the event loop; the query runs in the database driver's thread (SQLite) or server.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.seed import board_entries, board_text
from rules.board import DEFAULT_CATEGORIES, MAX_CANDIDATES, MAX_DESCRIPTION, EntryKind, EntryState, matches
from services.board import matching
from storage import board
from storage.db import Database
from storage.models import BoardEntry

TARGET_MS = 50.0
LENGTH = 2_000  # characters of each seeded entry's description
SAMPLES = 20


@dataclass(frozen=True)
class Timing:
    """Milliseconds per new entry: the whole matching (median, 90th percentile, worst), the part
    of it that compares on the event loop (worst), and the process's CPU time for it (median)."""

    median_ms: float
    p90_ms: float
    worst_ms: float
    comparing_worst_ms: float
    cpu_median_ms: float
    candidates: int

    @property
    def met(self) -> bool:
        return self.worst_ms <= TARGET_MS

    def measured(self) -> str:
        return (
            f"median {self.median_ms:.1f} ms, p90 {self.p90_ms:.1f} ms, worst {self.worst_ms:.1f} ms "
            f"(comparing at most {self.candidates} candidates: worst {self.comparing_worst_ms:.1f} ms; "
            f"CPU median {self.cpu_median_ms:.1f} ms)"
        )

    def line(self, entries: int, length: int) -> str:
        return (
            f"board matching, {entries:,} entries of {length:,} characters: {self.measured()} "
            f"– target ≤ {TARGET_MS:.0f} ms: {'met' if self.met else 'MISSED'}"
        )


def new_entry(pick: random.Random, n: int, now: datetime) -> BoardEntry:
    """A new entry of the longest allowed description, in the words of the seeded ones."""
    return BoardEntry(
        kind=EntryKind.OFFER if n % 2 else EntryKind.NEED,
        category=DEFAULT_CATEGORIES[n % len(DEFAULT_CATEGORIES)],
        title=board_text(pick, 80),
        description=board_text(pick, MAX_DESCRIPTION),
        municipality="Verl",
        author="@bench:localhost",
        state=EntryState.OPEN,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=90),
    )


async def measure(db: Database, samples: int, seed: int = 7) -> Timing:
    """Time the matching of `samples` new entries on the board `db` holds (after one more that
    warms the caches, as a running bot has them: the stemmer's, the database's pages)."""
    pick = random.Random(seed)
    total, comparing, cpu, most = [], [], [], 0
    for n in range(-1, samples):
        now = datetime.now(UTC)
        async with db.transaction() as s:
            entry = await board.add_entry(s, new_entry(pick, n, now))
            cpu_start, start = time.process_time(), time.perf_counter()
            await matching(s, entry, now)
            elapsed, cpu_time = time.perf_counter() - start, time.process_time() - cpu_start
            found = await board.candidates(s, entry, now, MAX_CANDIDATES)
            start = time.perf_counter()
            matches(entry, found, now)
            if n >= 0:
                total.append(elapsed)
                cpu.append(cpu_time)
                comparing.append(time.perf_counter() - start)
                most = max(most, len(found))
    ms = sorted(x * 1000 for x in total)
    return Timing(
        median_ms=statistics.median(ms),
        p90_ms=statistics.quantiles(ms, n=10, method="inclusive")[8] if len(ms) >= 2 else ms[0],
        worst_ms=ms[-1],
        comparing_worst_ms=max(comparing) * 1000,
        cpu_median_ms=statistics.median(cpu) * 1000,
        candidates=most,
    )


async def run(entries: int, length: int, samples: int, url: str | None = None) -> Timing:
    """Seed a board of `entries` (in a throwaway SQLite database unless `url` names an empty one)
    and time `samples` new entries on it."""
    with tempfile.TemporaryDirectory(prefix="regiobench-board-") as work:
        db = Database(url or f"sqlite+aiosqlite:///{Path(work) / 'board.db'}")
        try:
            await db.migrate()
            await board_entries(db, entries, length=length)
            return await measure(db, samples)
        finally:
            await db.close()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.board", description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000, help="open entries on the board")
    parser.add_argument("--length", type=int, default=LENGTH, help="characters of each entry's description")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="new entries timed")
    parser.add_argument("--url", help="an empty database to use instead (e.g. postgresql+asyncpg://…)")
    return parser.parse_args()


if __name__ == "__main__":
    args = arguments()
    print(f"seeding {args.entries:,} board entries of {args.length:,} characters …", flush=True)
    timing = asyncio.run(run(args.entries, args.length, args.samples, args.url))
    print(timing.line(args.entries, args.length))
