"""`regiobot run` as a process of its own, so that it can be killed for real."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.config import Config

PROJECT = Path(__file__).resolve().parents[2]
READY = "ready: answering commands"


def toml_file(config: Config, path: Path, extra: str = "") -> Path:
    """The config as a file for `regiobot run` (the keys these tests need, plus `extra` sections)."""
    coordinators = ", ".join(f'"{c}"' for c in sorted(config.roles.coordinators))
    path.write_text(f"""
[matrix]
homeserver = "{config.matrix.homeserver}"
user_id = "{config.matrix.user_id}"
password = "{config.matrix.password}"
device_id = "{config.matrix.device_id}"
store_key = "{config.matrix.store_key}"
store_dir = "{config.matrix.store_dir}"
[storage]
url = "{config.storage_url}"
[roles]
coordinators = [{coordinators}]
{extra}""")
    return path


class BotProcess:
    """`regiobot run` as a separate process, its output in a log file next to its config."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.log_path = config_path.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self._offset = 0

    @property
    def output(self) -> str:
        """What this start of the process has logged so far."""
        return self.log_path.read_bytes()[self._offset :].decode(errors="replace")

    async def start(self, until: str = READY) -> BotProcess:
        """Start the process and wait until it has logged `until`."""
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config_path)],
                cwd=PROJECT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await self.logged(until)
        return self

    async def logged(self, text: str, timeout: float = 30) -> None:
        """Wait until this start of the process has logged `text`."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.process.poll() is None, self.output
            assert time.monotonic() < deadline, f"bot process did not log {text!r}"
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def stop_quietly(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
