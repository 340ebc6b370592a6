"""The `regiobot` command: run, check-config, backup, copy-database, demo, when."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Config, ConfigError, check_storage_url, load_config, require_store_key
from bot.logs import setup_logging
from bot.memory import limit_arenas
from rules.dates import DateError, parse_when
from rules.i18n import bilingual, t

log = logging.getLogger("regiobot")
# Seconds that threads left running after the bot stopped get to end before the process exits
# without them (see `leave`).
LINGER = 5.0


async def serve(config: Config) -> None:
    """Run the bot until SIGINT/SIGTERM; the batch in hand is finished first."""
    from bot.app import Bot

    bot = Bot(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, bot.stop)
    try:
        await bot.start()
        await bot.run()
    finally:
        await bot.close()
        log.info("stopped")


def load_or_explain(path: str, encryption: bool = False) -> Config | None:
    """The configuration at `path`, or None after saying on stderr what is wrong with it;
    `encryption`: the command opens the encryption store, so its key must be set."""
    try:
        config = load_config(Path(path), os.environ)
        if encryption:
            require_store_key(config.matrix)
        return config
    except ConfigError as exc:
        print(f"Konfigurationsfehler / configuration error: {exc}", file=sys.stderr)
        return None


def cmd_run(args: argparse.Namespace) -> int:
    limit_arenas()  # before any thread starts (see bot.memory)
    config = load_or_explain(args.config, encryption=True)
    if config is None:
        return 2
    return leave(run_until_stopped(config))


def run_until_stopped(config: Config) -> int:
    """Run the bot; the exit status: 0 when it was asked to stop, 1 when it decided to (the lock
    lost, an error it cannot recover from), so that a supervisor starts it again, 2 when a start
    cannot succeed as configured."""
    from bot.leadership import AlreadyRunning
    from bot.matrix import LoginFailed
    from storage.db import Fenced

    try:
        asyncio.run(serve(config))
    except ConfigError as exc:  # the store key does not open the key store
        print(f"Konfigurationsfehler / configuration error: {exc}", file=sys.stderr)
        return 2
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr)
        return 2
    except Fenced as exc:  # the lock was lost: a fresh start waits as the standby
        print(exc, file=sys.stderr)
        return 1
    except LoginFailed as exc:
        print(f"Anmeldung am Homeserver fehlgeschlagen / login failed: {exc}", file=sys.stderr)
        return 1
    except Exception:
        log.critical("stopped after an error it cannot recover from; exiting to be started again", exc_info=True)
        return 1
    return 0


def leave(status: int) -> int:
    """`status`, once no thread is left that would keep the stopped bot's process alive. Library
    threads are no daemons (aiosqlite runs one per connection): one whose connection was never
    closed would keep the process running, answering nothing, and its supervisor would never
    start it again. Such threads get LINGER seconds, then the process ends without them."""
    deadline = time.monotonic() + LINGER
    for thread in _lingering():
        thread.join(max(0.0, deadline - time.monotonic()))
    left = _lingering()
    if left:
        log.error("exiting without %d thread(s) still running: %s", len(left), ", ".join(t.name for t in left))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _lingering() -> list[threading.Thread]:
    """Threads other than this one that the interpreter would wait for at exit."""
    return [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon and t.is_alive()]


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_or_explain(args.config, encryption=True)
    if config is None:
        return 2
    from bot.check_config import check, render

    findings = asyncio.run(check(config, args.config))
    print("\n".join(render(findings)))
    return 0 if all(f.ok for f in findings) else 2


def cmd_copy_database(args: argparse.Namespace) -> int:
    config = load_or_explain(args.config)
    if config is None:
        return 2
    try:
        target = check_storage_url(args.to, "--to")
    except ConfigError as exc:
        print(f"Konfigurationsfehler / configuration error: {exc}", file=sys.stderr)
        return 2
    from bot.check_config import reason
    from storage.transfer import TargetNotEmpty, copy_database

    try:
        copied = asyncio.run(copy_database(config.storage_url, target))
    except TargetNotEmpty as exc:
        print(bilingual("transfer.not_empty", table=exc.table), file=sys.stderr)
        return 2
    except Exception as exc:  # connection refused, wrong password …: said in one line, no traceback
        print(bilingual("transfer.failed", reason=reason(exc)), file=sys.stderr)
        return 2
    print(bilingual("transfer.done", counts=", ".join(f"{table} {rows}" for table, rows in copied.items())))
    return 0


def cmd_when(args: argparse.Namespace) -> int:
    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"unknown time zone: {args.tz}", file=sys.stderr)
        return 2
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        print(f"--now must be an ISO 8601 date-time, e.g. 2026-11-22T10:00:00+01:00: {args.now}", file=sys.stderr)
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=zone)
    try:
        when = parse_when(" ".join(args.text), now, zone)
    except DateError as exc:
        print(t(exc.key, args.language, **exc.params).plain, file=sys.stderr)
        return 2
    print(when.iso())
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup

    try:
        config = load_config(Path(args.config), os.environ)
        size = backup(config.storage_url, Path(args.path))
    except ConfigError as exc:
        print(f"Konfigurationsfehler / configuration error: {exc}", file=sys.stderr)
        return 2
    except (BackupError, OSError) as exc:
        print(f"Sicherung fehlgeschlagen / backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"Sicherung geschrieben / backup written: {args.path} ({size} bytes)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(Path(args.dir), args.port))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="regiobot", description="Matrix-Bot der Regiopol Akademie")
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="den Bot starten / run the bot")
    run.add_argument("--config", required=True, help="Pfad zur TOML-Konfiguration")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check-config", help="Konfiguration, Anmeldung und Räume prüfen / check the setup")
    check.add_argument("--config", required=True, help="Pfad zur TOML-Konfiguration")
    check.set_defaults(func=cmd_check_config)
    copy = sub.add_parser(
        "copy-database",
        help="alle Daten in eine andere (leere) Datenbank kopieren, z. B. "
        "nach PostgreSQL / copy all data to another, empty database",
    )
    copy.add_argument("--config", required=True, help="Pfad zur TOML-Konfiguration (Quelle: [storage] url)")
    copy.add_argument("--to", required=True, help="Ziel, z. B. postgresql+asyncpg://regiobot@localhost/regiobot")
    copy.set_defaults(func=cmd_copy_database)
    when = sub.add_parser("when", help="zeigen, wie eine Zeitangabe verstanden wird / parse a date")
    when.add_argument("text", nargs="+")
    when.add_argument("--now", help="Bezugszeitpunkt (ISO 8601), Standard: jetzt")
    when.add_argument("--tz", default="Europe/Berlin", help="Zeitzone, Standard: Europe/Berlin")
    when.add_argument("--language", default="de", choices=("de", "en"))
    when.set_defaults(func=cmd_when)
    save = sub.add_parser("backup", help="die Datenbank im laufenden Betrieb sichern / back up the database")
    save.add_argument("path", help="Zieldatei (darf noch nicht existieren)")
    save.add_argument("--config", required=True, help="Pfad zur TOML-Konfiguration")
    save.set_defaults(func=cmd_backup)
    demo = sub.add_parser("demo", help="lokaler Synapse + Bot zum Ausprobieren / local demo")
    demo.add_argument("--dir", default=".demo", help="Arbeitsverzeichnis (wird neu angelegt)")
    demo.add_argument("--port", type=int, default=8008)
    demo.set_defaults(func=cmd_demo)
    return root


def main(argv: list[str] | None = None) -> int:
    setup_logging(sys.stderr, os.environ)
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
