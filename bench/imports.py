"""What each library costs in resident memory when the bot starts: `python -m bench.imports`.

Fresh processes import the libraries in the order the bot loads them; each row is the growth of
VmRSS that its imports cause (median over `runs` processes, with the spread). Libraries the bot
loads only on first use (Alembic, dateparser, icalendar, the PostgreSQL driver, aiohttp's server,
the stemmer, Pillow) come last, each on top of all rows above, and are listed apart. The total
after the last library loaded at start is the floor `make bench` measures the bot's own memory
against (`libraries_mb`).
"""

from __future__ import annotations

import compileall
import importlib.util
import statistics
import subprocess
import sys
from dataclasses import dataclass

OWN_MODULES = "regiobot's own modules"
OWN_PACKAGES = ("bot", "commands", "rules", "services", "storage", "web")
# (label, modules) in the order `regiobot run` imports them.
AT_START = (
    ("asyncio, ssl", ("asyncio", "ssl")),
    ("aiohttp (client)", ("aiohttp",)),
    ("matrix-nio (jsonschema, vodozemac, pycryptodome, peewee)", ("nio",)),
    ("SQLAlchemy (core, orm, asyncio)", ("sqlalchemy", "sqlalchemy.orm", "sqlalchemy.ext.asyncio")),
    ("pydantic + SQLModel", ("pydantic", "sqlmodel", "sqlmodel.ext.asyncio.session")),
    ("aiosqlite + SQLite dialect", ("aiosqlite", "sqlalchemy.dialects.sqlite.aiosqlite")),
    ("APScheduler", ("apscheduler.schedulers.asyncio", "apscheduler.triggers.date")),
    ("prometheus-client", ("prometheus_client",)),
    (OWN_MODULES, ("bot.app", "bot.cli")),
)
ON_FIRST_USE = (
    ("Alembic (only when a migration is due)", ("alembic.command", "storage.migrations")),
    ("dateparser (dates in words)", ("dateparser",)),
    ("icalendar (!termin … ics)", ("icalendar",)),
    ("asyncpg + PostgreSQL dialect", ("asyncpg", "sqlalchemy.dialects.postgresql.asyncpg")),
    ("aiohttp server (/healthz, /metrics)", ("aiohttp.web",)),
    ("German stemmer (board search)", ("snowballstemmer",)),
    ("Pillow (the !statistik chart)", ("PIL.Image", "PIL.ImageDraw", "PIL.ImageFont")),
)
PROBE = """
import importlib, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
print(rss())
for group in sys.argv[1:]:
    for name in group.split(","):
        importlib.import_module(name)
    print(rss())
"""


@dataclass(frozen=True)
class Row:
    label: str
    mb: float
    spread: float  # max - min over the runs
    total: float  # RSS after this row


def installed_bytecode() -> None:
    """Byte-compile regiobot's own modules where that is missing or out of date, as installing the
    package does (pip compiles what it installs; the container image only keeps Python from writing
    more). An editable install where PYTHONDONTWRITEBYTECODE is set would otherwise compile every
    module from source at every start, which a deployed bot never does (here 0.3-0.5 s of a start
    and 1 MB of its memory)."""
    for package in OWN_PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations is not None
        for location in spec.submodule_search_locations:
            compileall.compile_dir(location, quiet=1)


def _probe() -> list[float]:
    """VmRSS of a fresh process before any row and after each row."""
    groups = [",".join(modules) for _, modules in (*AT_START, *ON_FIRST_USE)]
    output = subprocess.run([sys.executable, "-c", PROBE, *groups], capture_output=True, text=True, check=True)
    return [float(figure) for figure in output.stdout.split()]


def breakdown(runs: int = 3) -> tuple[list[Row], list[Row]]:
    """The rows loaded at start and those loaded on first use: median growth over `runs` processes."""
    installed_bytecode()
    samples = [_probe() for _ in range(runs)]
    rows = []
    for i, (label, _) in enumerate((*AT_START, *ON_FIRST_USE)):
        growth = [run[i + 1] - run[i] for run in samples]
        rows.append(
            Row(
                label,
                statistics.median(growth),
                max(growth) - min(growth),
                statistics.median(run[i + 1] for run in samples),
            )
        )
    return rows[: len(AT_START)], rows[len(AT_START) :]


def libraries_mb(start: list[Row]) -> float:
    """The floor under the bot's own memory: the interpreter and every library loaded at start,
    without regiobot's own modules (the total after the last library row)."""
    return [row for row in start if row.label != OWN_MODULES][-1].total


def table(start: list[Row], later: list[Row]) -> str:
    lines = [f"{'library':<60} {'MB':>6} {'spread':>7} {'total':>7}"]
    lines.append(f"{'Python interpreter':<60} {start[0].total - start[0].mb:6.1f}")
    lines += [f"{r.label:<60} {r.mb:6.1f} {r.spread:7.1f} {r.total:7.1f}" for r in start]
    floor = "the libraries floor: interpreter and libraries, not regiobot's own"
    lines.append(f"{floor:<75} {libraries_mb(start):7.1f}")
    lines.append("loaded on first use, not at start:")
    lines += [f"  {r.label:<58} {r.mb:6.1f} {r.spread:7.1f}" for r in later]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(*breakdown()))
