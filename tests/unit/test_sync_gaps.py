"""When the sync loop asks /messages for events a sync left out: only where some may be missing."""

from __future__ import annotations

from typing import Any

import pytest
from nio import Event, RoomCreateEvent, RoomMessageText

from bot.sync_loop import gap_before


def parsed(kind: str, content: dict[str, Any], state_key: str | None = None) -> Any:
    source: dict[str, Any] = {
        "type": kind,
        "event_id": f"${kind}",
        "sender": "@anna:localhost",
        "origin_server_ts": 1,
        "content": content,
    }
    if state_key is not None:
        source["state_key"] = state_key
    return Event.parse_event(source)


CREATE = parsed("m.room.create", {"creator": "@anna:localhost", "room_version": "12"}, state_key="")
MESSAGE = parsed("m.room.message", {"msgtype": "m.text", "body": "!termine"})


def test_the_events_are_what_they_stand_for():
    assert isinstance(CREATE, RoomCreateEvent) and isinstance(MESSAGE, RoomMessageText)


@pytest.mark.parametrize(
    ("timeline", "limited", "gap"),
    [
        ([MESSAGE], False, False),  # everything since the last sync came
        ([MESSAGE, MESSAGE], True, True),  # more arrived than the filter lets through
        ([], True, True),
        ([CREATE, MESSAGE], True, False),  # a room just joined, whole from its creation
    ],
)
def test_a_gap_is_filled_only_where_events_may_be_missing(timeline, limited, gap):
    assert gap_before(timeline, limited) is gap
