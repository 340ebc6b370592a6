"""A reverse proxy on loopback in front of the test homeserver that can fail the bot's sends the
way a real one does while Synapse restarts: `502 Bad Gateway` with an HTML page, or a connection
reset. Everything else (sync, reads, uploads) passes through. It notes the path of every request, so
a test can show which requests the bot made (or did not)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot.devserver import free_port

SEND = re.compile(r"^/_matrix/client/(?:v3|r0)/rooms/[^/]+/send/")
JOIN = re.compile(r"^/_matrix/client/(?:v3|r0)/(?:join/|rooms/[^/]+/join$)")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"}


@dataclass
class FaultProxy:
    """`mode`: "pass", "bad_gateway" (sends get 502) or "reset" (sends have their connection closed);
    `failing_joins`: so many joins to come get 502."""

    upstream: str
    port: int = field(default_factory=free_port)
    mode: str = "pass"
    failing_joins: int = 0
    refused: int = 0  # sends and joins failed on purpose
    paths: list[str] = field(default_factory=list)  # of every request, in the order they came
    _runner: web.AppRunner | None = None
    _client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120), auto_decompress=False)
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        # A client that hangs up (a long-poll abandoned) ends the request upstream too, as a real
        # proxy does; otherwise stopping would wait for the homeserver's answer.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._client:
            await self._client.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.paths.append(request.path)
        if self.failing_joins and JOIN.match(request.path):
            self.failing_joins -= 1
            self.refused += 1
            return web.Response(status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>")
        if request.method == "PUT" and SEND.match(request.path) and self.mode != "pass":
            self.refused += 1
            if self.mode == "reset":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client: the connection is gone
            return web.Response(
                status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
            )
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._client.request(
            request.method,
            f"{self.upstream}{request.rel_url}",
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            answer_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=upstream.status, body=body, headers=answer_headers)
