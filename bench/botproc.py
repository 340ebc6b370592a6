"""regiobot and the echo bot as processes of their own, and their memory (VmRSS)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.homeserver import Account
from bench.imports import installed_bytecode
from bot.config import parse_config
from bot.devserver import end_process
from storage.db import Database

READY_LINE = "ready: answering commands"
# What the bot logs when a sync's timeline was cut and it fetched the rest (bot/sync_loop.py).
GAP_FILL = re.compile(r"fetched (\d+) missed events")


def bot_settings(homeserver: str, user_id: str, password: str, directory: Path) -> dict[str, Any]:
    """The bot's configuration: rate limits out of the way, reminders 20 s before a session."""
    return {
        "matrix": {
            "homeserver": homeserver,
            "user_id": user_id,
            "password": password,
            "device_id": "REGIOBOTBENCH",
            "store_key": secrets.token_hex(16),
            "store_dir": str(directory / "store"),
        },
        "storage": {"url": f"sqlite+aiosqlite:///{directory / 'regiobot.db'}"},
        "bot": {"timezone": "Europe/Berlin", "commands_per_minute": 1000},
        "schedule": {"announce_before": [], "remind_before": ["20s"], "grace": "1h"},
    }


async def migrated(settings: dict[str, Any], directory: Path) -> None:
    """The bot's database made and migrated ahead, as after a deployment's first start: a start
    measured then does not import Alembic (10 MB) for a migration."""
    db = Database(parse_config(settings, {}, base_dir=directory).storage_url)
    try:
        await db.migrate()
    finally:
        await db.close()


def write_toml(settings: dict[str, Any], path: Path) -> None:
    """A TOML file of flat sections (strings, numbers and lists of strings, as JSON writes them)."""
    lines = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        lines += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Process:
    """A child process whose output goes to a log file; ready once `ready_line` appears there."""

    def __init__(self, args: list[str], log: Path, ready_line: str) -> None:
        self.args, self.log, self.ready_line = args, log, ready_line
        self.popen: subprocess.Popen[bytes] | None = None
        self._offset = 0

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    async def start(self, timeout: float = 90.0) -> float:
        """Start and wait until ready; returns the seconds that took."""
        installed_bytecode()
        started = time.monotonic()
        with open(self.log, "ab") as out:
            self._offset = out.tell()  # only this start's output counts
            self.popen = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        await self.logged(self.ready_line, timeout)
        return time.monotonic() - started

    def output(self) -> str:
        """What this start of the process has written so far."""
        with open(self.log, "rb") as log:
            log.seek(self._offset)
            return log.read().decode(errors="replace")

    def gap_fills(self, since: int = 0) -> tuple[int, int]:
        """How many gap fills this start logged after the first `since` characters of its output,
        and how many events they fetched."""
        fetched = [int(n) for n in GAP_FILL.findall(self.output()[since:])]
        return len(fetched), sum(fetched)

    async def logged(self, text: str, timeout: float = 90.0) -> None:
        """Wait until this start of the process has written `text`."""
        assert self.popen is not None
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.args[:3]} exited; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.args[:3]} did not log {text!r} within {timeout} s; see {self.log}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye, as when the machine goes down."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait()
        self.popen = None

    def stop(self) -> None:
        """Stop this process (SIGTERM, then SIGKILL after 20 s)."""
        if self.popen is not None:
            end_process(self.popen, grace=20)
        self.popen = None


def regiobot(config: Path, log: Path, ready_line: str = READY_LINE) -> Process:
    return Process([sys.executable, "-m", "bot", "run", "--config", str(config)], log, ready_line)


def echo_bot(
    homeserver: str, account: Account, log: Path, parallel: bool = False, store: Path | None = None
) -> Process:
    """The echo bot (bench/echo.py): one answer after another, or every answer at once; with an
    encryption store in `store` (made here) if given."""
    args = [sys.executable, "-m", "bench.echo", homeserver, account.user_id, account.access_token, account.device_id]
    if parallel:
        args.append("--parallel")
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
        args += ["--store", str(store)]
    return Process(args, log, "ready")
