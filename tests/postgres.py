"""A throwaway PostgreSQL cluster on loopback, for the tests that run on both databases.

The server binaries come from the Debian package `postgresql-15` (`REGIOBOT_PG_BIN` names
another folder). The cluster lives in a fresh folder under the system's temp dir, listens on a
free port of 127.0.0.1 (password required, as on a real server) and on a unix socket inside
that folder, and skips fsync (it is thrown away). PostgreSQL refuses to run as root: then the folder belongs to
the `postgres` user and the server commands run as that user (`runuser`).
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from bot.devserver import free_port

PG_BIN = Path(os.environ.get("REGIOBOT_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
SUPERUSER = "postgres"
# Parametrise a test with this to run it on SQLite and on PostgreSQL: its `database_url` or
# `migrated_url` fixture (tests/conftest.py) is then on the database of that kind.
on_both_databases = pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"], indirect=True)


def unavailable() -> str | None:
    """Why no cluster can be started here, or None when it can."""
    if not (PG_BIN / "postgres").is_file():
        return (
            f"PostgreSQL server binaries not found in {PG_BIN} "
            "(Debian: apt-get install postgresql-15, or set REGIOBOT_PG_BIN)"
        )
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root, and runuser (util-linux) is missing to start PostgreSQL as another user"
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root, and there is no {SERVER_USER!r} user to start PostgreSQL as"
    return None


@dataclass
class PostgresCluster:
    """One `postgres` process serving 127.0.0.1:port from a temp folder, until `stop()`."""

    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="regiobot-pg-")))
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _run(self, *argv: str) -> None:
        """Run a server binary as the user owning the cluster."""
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.directory)

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVER_USER, SERVER_USER)
        password_file = self.directory / "password"
        password_file.write_text(self.password)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "-l",
            str(self.directory / "server.log"),
        )
        return self

    def stop(self) -> None:
        """Stop this cluster (fast shutdown) and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, template: str | None = None) -> str:
        """A new database, empty or a copy of the database named `template` (which nobody may be
        connected to); returns its SQLAlchemy URL."""
        name = f"regiobot_{next(self._names)}"
        copy = f' TEMPLATE "{template}"' if template else ""
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password, database="postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"{copy}')
        finally:
            await connection.close()
        return self.url(name)
