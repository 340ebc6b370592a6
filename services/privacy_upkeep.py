"""What the runtime does for data protection (`FEATURE`, see `bot.features`): the personal data of
sessions past the retention period is deleted, every few hours."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.features import Feature
from storage.purge import purge_ended

log = logging.getLogger(__name__)


async def purge(s: AsyncSession, config: Config, now: datetime) -> None:
    """Delete the personal data of the sessions that ended more than `retention_days` ago."""
    purged = await purge_ended(s, now - timedelta(days=config.retention_days))
    if purged:
        log.info("deleted the personal data of %d sessions older than %d days", purged, config.retention_days)


FEATURE = Feature("privacy", periodic=(purge,))
