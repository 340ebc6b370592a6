"""Who a Matrix OpenID token belongs to (the Widget API's `get_openid`), asked of the homeserver
that issued it: `GET /_matrix/federation/v1/openid/userinfo` — only for the servers the bot
allows (`[matrix] allowed_servers`), and only a user of that very server counts.

The bot's own server is reached at its configured homeserver address (Synapse serves the
endpoint on its client listener); another allowed server at the address its
`/.well-known/matrix/server` delegates to, else at port 8448 of its name.
"""

from __future__ import annotations

import logging
import re

import aiohttp

from bot.config import MatrixConfig

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=10)
SERVER_NAME = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$")
USERINFO = "/_matrix/federation/v1/openid/userinfo"


class NotVerified(Exception):
    """The token could not be checked, or does not name a user of the server it claims."""


async def base_url(http: aiohttp.ClientSession, matrix: MatrixConfig, server_name: str) -> str:
    """Where the server's federation API (with the OpenID endpoint) is reached."""
    if server_name == matrix.server_name:
        return matrix.homeserver
    try:
        async with http.get(f"https://{server_name}/.well-known/matrix/server") as response:
            delegated = (await response.json(content_type=None)).get("m.server") if response.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError):
        delegated = None
    if isinstance(delegated, str) and SERVER_NAME.match(delegated):
        return f"https://{delegated}" if ":" in delegated else f"https://{delegated}:8448"
    return f"https://{server_name}" if ":" in server_name else f"https://{server_name}:8448"


async def openid_user(matrix: MatrixConfig, server_name: str, access_token: str) -> str:
    """The Matrix id the token stands for; NotVerified when the server is not allowed, does not
    know the token, or names a user of another server."""
    if server_name not in matrix.allowed_servers or not SERVER_NAME.match(server_name):
        raise NotVerified("server not allowed")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        base = await base_url(http, matrix, server_name)
        try:
            async with http.get(f"{base}{USERINFO}", params={"access_token": access_token}) as response:
                answer = await response.json(content_type=None) if response.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("could not check an OpenID token with %s: %s", server_name, type(exc).__name__)
            raise NotVerified("homeserver not reached") from None
    user_id = answer.get("sub") if isinstance(answer, dict) else None
    if not isinstance(user_id, str) or not user_id.startswith("@") or user_id.split(":", 1)[-1] != server_name:
        raise NotVerified("no user of that server")
    return user_id
