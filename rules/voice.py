"""What rendering a message needs: language, command prefix, time zone and the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rules.dates import format_short, format_when
from rules.i18n import Message, t


@dataclass
class Voice:
    """The bot's voice at one moment: catalogue texts and dates as its users read them."""

    language: str
    prefix: str
    timezone: ZoneInfo
    now: datetime

    def t(self, key: str, **params: Any) -> Message:
        """Catalogue entry `key`, with the command prefix at hand as `{prefix}`."""
        return t(key, self.language, **{"prefix": self.prefix, **params})

    def short(self, moment: datetime) -> str:
        """A date and time in short form ("Do 10.12., 14:00")."""
        return format_short(moment, self.timezone, self.language)

    def when(self, start: datetime, end: datetime | None) -> str:
        """A start and end in long form."""
        return format_when(start, end, self.timezone, self.language)
