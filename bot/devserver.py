"""A throwaway Synapse homeserver on loopback, for `make demo` and the end-to-end tests.

Synapse comes from PyPI (`matrix-synapse`, installed with the `test` extra). The server
keeps everything in one directory, listens only on 127.0.0.1 and federates with nobody.
Users are registered through Synapse's shared-secret admin API, the same call that
`register_new_matrix_user` makes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

_FAST = "{per_second: 1000, burst_count: 1000}"
RELAXED_LIMITS = f"""
rc_message: {_FAST}
rc_registration: {_FAST}
rc_login: {{address: {_FAST}, account: {_FAST}, failed_attempts: {_FAST}}}
rc_joins: {{local: {_FAST}, remote: {_FAST}}}
rc_invites: {{per_room: {_FAST}, per_user: {_FAST}, per_issuer: {_FAST}}}
"""
# Synapse's default message limit, written out: the 11th rapid message gets 429 M_LIMIT_EXCEEDED.
# Logins and joins stay fast, for the tests' set-up.
STRICT_LIMITS = RELAXED_LIMITS.replace(f"rc_message: {_FAST}", "rc_message: {per_second: 0.2, burst_count: 10}")


def end_process(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, and SIGKILL if the process is still there after `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when nothing accepts connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class Synapse:
    """One Synapse process serving http://127.0.0.1:PORT from `directory`."""

    directory: Path
    port: int = field(default_factory=free_port)
    relaxed_limits: bool = True
    server_name: str = "localhost"
    process: subprocess.Popen[bytes] | None = None
    shared_secret: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    def configure(self) -> None:
        """Write homeserver.yaml (SQLite, loopback only, no registration, own limits)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "homeserver.yaml"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--server-name",
                self.server_name,
                "--config-path",
                str(config),
                "--data-directory",
                str(self.directory),
                "--generate-config",
                "--report-stats=no",
            ],
            check=True,
            capture_output=True,
            cwd=self.directory,
        )
        text = config.read_text()
        text = re.sub(r"port: 8008", f"port: {self.port}", text)
        text = re.sub(r"bind_addresses: \[.*?\]", "bind_addresses: ['127.0.0.1']", text)
        self.shared_secret = secrets.token_hex(16)
        text = re.sub(r"registration_shared_secret: .*", f'registration_shared_secret: "{self.shared_secret}"', text)
        text += "\n".join(
            [
                "",
                "enable_registration: false",
                "trusted_key_servers: []",
                "suppress_key_server_warning: true",
                "federation_domain_whitelist: []",
                "presence: {enabled: false}",
                "report_stats: false",
                # Throwaway passwords: bcrypt's least work factor. At Synapse's default (12) every
                # registration and every login costs the server a quarter of a second of CPU.
                "bcrypt_rounds: 4",
                RELAXED_LIMITS if self.relaxed_limits else STRICT_LIMITS,
            ]
        )
        config.write_text(text)
        (self.directory / f"{self.server_name}.log.config").write_text(
            "version: 1\nroot: {level: WARNING, handlers: []}\ndisable_existing_loggers: false\n"
        )

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers /versions."""
        if not port_is_free(self.port):
            raise RuntimeError(f"port {self.port} on 127.0.0.1 is already in use")
        if not self.shared_secret:
            self.configure()
        log = open(self.directory / "synapse.out", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(self.directory / "homeserver.yaml")],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"Synapse exited; see {self.directory / 'synapse.out'}")
                try:
                    async with http.get(f"{self.url}/_matrix/client/versions") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        self.stop()
        raise RuntimeError("Synapse did not answer within the time limit")

    def stop(self) -> None:
        """Stop the server this object started (and only that one)."""
        if self.process is not None:
            end_process(self.process, grace=15)
        self.process = None

    async def register(self, localpart: str, password: str, admin: bool = False) -> str:
        """Create a user through the shared-secret registration API; returns the user id."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as http:
            async with http.get(endpoint) as resp:
                nonce = (await resp.json())["nonce"]
            kind = "admin" if admin else "notadmin"
            mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
            mac.update(b"\x00".join(p.encode() for p in (nonce, localpart, password, kind)))
            body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()}
            async with http.post(endpoint, json=body) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"registering {localpart} failed: {resp.status} {await resp.text()}")
        return self.user_id(localpart)
