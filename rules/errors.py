"""Errors that carry a message for the user (a catalogue key), not a traceback."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Something the user can fix; `key` names the catalogue entry that tells them how."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
