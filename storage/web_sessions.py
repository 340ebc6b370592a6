"""Signing in on the web pages: one-time login links (`!web`) and the web sessions they open.

Only the SHA-256 of each token is kept, so neither a link nor a session cookie can be read back
from the database. A login link is redeemed once; a session ends when it expires, when its
person says `!web abmelden`, or when the person's data is deleted. Expired rows of both kinds go
whenever a new one is made.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.calendar_tokens import token_hash
from storage.models import WebLogin, WebSession
from storage.rows import save

TOKEN_BYTES = 32  # 256 random bits: 43 characters in a link or cookie
LOGIN_VALID = timedelta(minutes=10)
SESSION_VALID = timedelta(days=30)


async def issue_login(s: AsyncSession, user_id: str, now: datetime) -> str:
    """A new one-time login token for the person (valid for LOGIN_VALID)."""
    await s.exec(delete(WebLogin).where(col(WebLogin.expires_at) <= now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await save(s, WebLogin(token_hash=token_hash(token), user_id=user_id, created_at=now, expires_at=now + LOGIN_VALID))
    return token


async def redeem_login(s: AsyncSession, token: str, now: datetime) -> str | None:
    """Whose login this token is, used up now; None when it is unknown, used or expired."""
    found = await s.get(WebLogin, token_hash(token))
    if found is None:
        return None
    await s.exec(delete(WebLogin).where(col(WebLogin.token_hash) == found.token_hash))
    return found.user_id if found.expires_at > now else None


async def open_session(s: AsyncSession, user_id: str, now: datetime) -> str:
    """A new web session for the person (valid for SESSION_VALID); its token goes into the cookie."""
    await s.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = WebSession(token_hash=token_hash(token), user_id=user_id, created_at=now, expires_at=now + SESSION_VALID)
    await save(s, row)
    return token


async def session_owner(s: AsyncSession, token: str, now: datetime) -> str | None:
    """Who is signed in with this session token, or None (unknown or expired)."""
    found = await s.get(WebSession, token_hash(token))
    return found.user_id if found is not None and found.expires_at > now else None


async def end_session(s: AsyncSession, token: str) -> None:
    """Sign this browser out."""
    await s.exec(delete(WebSession).where(col(WebSession.token_hash) == token_hash(token)))


async def end_sessions(s: AsyncSession, user_id: str) -> int:
    """End every web session of the person (and any login link not used yet); how many sessions."""
    await s.exec(delete(WebLogin).where(col(WebLogin.user_id) == user_id))
    result = await s.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))
    return int(result.rowcount)
