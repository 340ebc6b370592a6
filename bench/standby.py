"""The standby's takeover: the bench database copied into a throwaway PostgreSQL, two bots on it,
the active one killed (SIGKILL). Measured from the bots' own log lines (JSON, milliseconds)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import botproc
from storage.transfer import copy_database
from tests.postgres import PostgresCluster

HOLDING = "active: holding the lock"
WAITING = "waiting for its lock"


def logged_at(output: str, text: str) -> datetime:
    """When a JSON log line containing `text` in its message was written."""
    for line in output.splitlines():
        if line.startswith("{") and text in (entry := json.loads(line)).get("message", ""):
            return datetime.fromisoformat(entry["time"])
    raise LookupError(text)


async def takeover(work: Path, settings: dict[str, Any], sqlite_url: str) -> dict[str, float]:
    """Seconds from the standby holding the lock to answering commands, and from the kill."""
    cluster = PostgresCluster().start()
    processes: list[botproc.Process] = []
    try:
        url = await cluster.create_database()
        await copy_database(sqlite_url, url)
        config = work / "standby.toml"
        botproc.write_toml({**settings, "storage": {"url": url}}, config)
        active = botproc.regiobot(config, work / "active.log")
        standby = botproc.regiobot(config, work / "standby.log", ready_line=WAITING)
        processes += [active, standby]
        await active.start()
        await standby.start()
        active.kill()
        killed = time.monotonic()
        await standby.logged(botproc.READY_LINE, timeout=60)
        from_kill = time.monotonic() - killed
        output = standby.output()
        lock_to_ready = (logged_at(output, botproc.READY_LINE) - logged_at(output, HOLDING)).total_seconds()
        return {"lock_to_ready_s": round(lock_to_ready, 2), "kill_to_ready_s": round(from_kill, 2)}
    finally:
        for process in processes:
            process.stop()
        cluster.stop()
