"""The benchmark's own arithmetic, without a homeserver: the sizes of a quick run, the gap fills
read from the bot's log, the libraries floor of memory, the bot's modules byte-compiled as a
deployed bot has them, and a repeated burst's people made new to the bot again."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import botproc, scenarios
from bench.__main__ import FULL, QUICK, arguments, chosen_phases
from bench.imports import OWN_MODULES, Row, installed_bytecode, libraries_mb
from storage.db import Database
from storage.models import PersonSettings
from storage.people import settings_for
from storage.rows import save


def test_quick_takes_its_sizes_unless_given() -> None:
    full = arguments([])
    assert not full.quick
    assert {name: getattr(full, name) for name in FULL} == FULL
    quick = arguments(["--quick", "--samples", "20"])
    assert quick.quick
    assert {name: getattr(quick, name) for name in QUICK} == {**QUICK, "samples": 20}


def test_only_runs_the_phases_named_with_what_they_build_on() -> None:
    def names(argv: list[str]) -> list[str]:
        return [phase.__name__ for phase in chosen_phases(arguments(argv).only)]

    assert names(["--only", "bursts"]) == ["bursts", "memory"]
    assert names(["--only", "rate-limit,takeover"]) == ["seeded_start", "fan_out", "rate_limit", "takeover", "memory"]
    assert names(["--only", "scale"]) == ["round_trips", "seeded_start", "scale", "memory"]
    assert len(names([])) > 10
    with pytest.raises(SystemExit):
        arguments(["--only", "burst,nothing"])


async def test_gap_fills_are_counted_after_an_offset(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    process = botproc.Process([sys.executable, "-c", "pass"], log, ready_line="")
    await process.start()

    def line(message: str) -> str:
        return json.dumps({"time": "2026-12-03T16:00:00+00:00", "level": "INFO", "message": message}) + "\n"

    with open(log, "a") as out:
        out.write(line("fetched 3 missed events in !a:localhost"))
        out.flush()
        before_burst = len(process.output())
        out.write(line("command anmelden: ok (5 ms)"))
        out.write(line("fetched 12 missed events in !a:localhost"))
        out.write(line("fetched 1 missed events in !b:localhost"))
    assert process.gap_fills() == (3, 16)
    assert process.gap_fills(before_burst) == (2, 13)
    process.stop()


def test_the_floor_is_the_total_before_regiobots_own_modules() -> None:
    rows = [
        Row("asyncio, ssl", 9.4, 0.0, 20.0),
        Row("prometheus-client", 1.4, 0.0, 79.4),
        Row(OWN_MODULES, 8.3, 0.0, 87.7),
    ]
    assert libraries_mb(rows) == 79.4


def test_the_bots_modules_are_byte_compiled_as_an_installed_package_has_them() -> None:
    import rules.timing

    source = Path(rules.timing.__file__)
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)
    installed_bytecode()
    assert cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime


async def test_a_repeated_bursts_people_are_shown_the_privacy_notice_again(migrated: Database) -> None:
    now = datetime(2026, 12, 5, 9, tzinfo=UTC)
    async with migrated.transaction() as s:
        for user_id in ("@a:localhost", "@b:localhost"):
            await save(s, PersonSettings(user_id=user_id, privacy_notice_at=now, updated_at=now))
    assert migrated.sqlite_file is not None
    scenarios.forget_privacy_notices(migrated.sqlite_file, {"@a:localhost"})
    async with migrated.transaction() as s:
        assert (await settings_for(s, "@a:localhost", now)).privacy_notice_at is None
        assert (await settings_for(s, "@b:localhost", now)).privacy_notice_at == now
