"""A consistent copy of the SQLite database while the bot keeps running (SQLite's online backup).

For `regiobot backup`, a command of its own: plain blocking sqlite3, no event loop involved.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup could not be made; the message says why."""


def sqlite_path(url: str) -> Path:
    """The file behind a `sqlite+aiosqlite:///…` URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise BackupError(
            "nur für SQLite-Dateien; PostgreSQL sichern Sie mit pg_dump / "
            "SQLite files only; back up PostgreSQL with pg_dump"
        )
    return Path(parsed.database)


def backup(url: str, target: Path) -> int:
    """Copy the database at `url` to `target` page by page (writers are not blocked for long),
    check the copy, and move it into place; returns its size in bytes. Synchronous on purpose:
    `regiobot backup` runs it as a process of its own, never on the bot's event loop."""
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"keine Datenbank unter {source_path} / no database there")
    if target.exists():
        raise BackupError(f"{target} gibt es schon / already exists")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            closing(sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy, pages=256)
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"die Kopie ist beschädigt / the copy is damaged: {verdict}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
