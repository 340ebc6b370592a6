"""What the benchmark's phases share: the homeserver, the people and their rooms, the bots, the
libraries floor of memory, and the report they write their rows and figures into."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import AsyncClient

from bench import botproc
from bench.clients import Observer
from bench.homeserver import Account
from bench.imports import Row
from bench.report import Report
from bot.config import Config
from bot.devserver import Synapse

# The bots whose rooms the people share: regiobot and the two echo bots (bench/echo.py).
REGIOBOT, ECHO, PARALLEL_ECHO = "regiobot", "echo", "parallel echo"


@dataclass
class Bench:
    """One run: set up by `bench.__main__`, then handed to each phase in turn."""

    args: argparse.Namespace
    work: Path
    server: Synapse
    report: Report
    admin: Account  # exempts accounts from the message limit, reads delivery times (admin API)
    probe: Account  # the observer's account: sends the round trips' commands
    bot_account: Account
    people: list[Account]  # `--users` people, each joined to every bot's room
    observer: Observer
    clients: list[AsyncClient]  # the people's clients
    rooms: dict[str, str]  # REGIOBOT, ECHO, PARALLEL_ECHO → that bot's room
    settings: dict[str, Any]  # regiobot's configuration (written to bot.toml)
    config: Config
    db_file: Path  # regiobot's SQLite database
    sessions: dict[str, int]  # the seeded sessions the round trips name ("round_trip", "mine")
    burst_sessions: list[int]  # a session for each of regiobot's bursts (capacity CAPACITY)
    bot: botproc.Process  # regiobot on bot.toml; its log is bot.log
    echo_pids: dict[str, int]  # ECHO, PARALLEL_ECHO → process id
    imports: tuple[list[Row], list[Row]]  # bench.imports.breakdown() at the start of the run
    libraries_mb: float  # the floor: RSS of the interpreter with every library loaded at start
    stack: AsyncExitStack  # what ends with the run: a phase registers the processes it starts here
    rest_mb: dict[str, float] = field(default_factory=dict)  # the bot's RSS at rest: "empty", "seeded"
    # The bot's RSS after each piece of work ("after the burst", …): a phase adds its own with
    # `after_work`; the memory phase checks each against the floor.
    work_mb: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)  # bench/results.json
    skipped: list[str] = field(default_factory=list)

    @property
    def hs(self) -> str:
        return self.server.url

    def after_work(self, label: str, pid: int | None = None) -> None:
        """Note the RSS of regiobot (or of the bot process `pid`) after the work `label`."""
        self.work_mb[label] = botproc.rss_mb(self.bot.pid if pid is None else pid)

    def skip(self, phase: str, why: str) -> None:
        """A phase not run (in a `--quick` run): printed now, listed in the table and results.json."""
        print(f"skipped: {phase} ({why})", flush=True)
        self.skipped.append(phase)
        self.report.check(phase, "-", f"skipped: {why}", None)


Phase = Callable[[Bench], Awaitable[None]]
