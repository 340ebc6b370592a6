"""Personal calendar feeds: the secret token in a person's feed address (kept only as its SHA-256),
and the sessions that feed holds."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CalendarToken, Registration, RegistrationStatus, Session
from storage.rows import save

TOKEN_BYTES = 32  # 256 random bits: 43 characters in the address


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(s: AsyncSession, user_id: str, now: datetime) -> str:
    """A new token for the person's feed; the address they had before stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = await s.get(CalendarToken, user_id) or CalendarToken(user_id=user_id, token_hash="", created_at=now)
    row.token_hash, row.created_at = token_hash(token), now
    await save(s, row)
    return token


async def revoke(s: AsyncSession, user_id: str) -> bool:
    """Make the person's feed address stop working; False when they had none."""
    result = await s.exec(delete(CalendarToken).where(col(CalendarToken.user_id) == user_id))
    return bool(result.rowcount)


async def owner(s: AsyncSession, token: str) -> str | None:
    """Whose feed this token opens, or None."""
    row = (await s.exec(select(CalendarToken).where(CalendarToken.token_hash == token_hash(token)))).first()
    return row.user_id if row else None


async def token_of(s: AsyncSession, user_id: str) -> CalendarToken | None:
    return await s.get(CalendarToken, user_id)


async def registered_sessions(
    s: AsyncSession, user_id: str, since: datetime, rooms: list[str]
) -> list[tuple[Session, Registration]]:
    """The sessions of these rooms the person holds a place or waits for, that end after `since`."""
    query = (
        select(Session, Registration)
        .join(Registration, col(Registration.session_id) == col(Session.id))
        .where(
            Registration.user_id == user_id,
            col(Registration.status).in_([RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]),
            col(Session.room_id).in_(rooms),
            col(Session.ends_at) > since,
        )
        .order_by(col(Session.starts_at), col(Session.id))
    )
    return [(x, r) for x, r in (await s.exec(query)).all()]


async def last_change(s: AsyncSession, user_id: str) -> datetime | None:
    """When the person's feed last changed for reasons of their own: a registration changed (one
    withdrawn too, which leaves the feed) or the token was made."""
    registered = (await s.exec(select(func.max(Registration.updated_at)).where(Registration.user_id == user_id))).one()
    token = await s.get(CalendarToken, user_id)
    moments: list[datetime] = [registered] if registered is not None else []
    if token is not None:
        moments.append(token.created_at)
    return max(moments, default=None)
