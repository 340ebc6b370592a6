"""What the runtime does for rating polls (`FEATURE`, see `bot.features`): when a poll's end goes out,
the votes are counted from the responses on the homeserver as they are then, and the end says the
result."""

from __future__ import annotations

from typing import Any

from bot.features import Feature, Relations
from rules.polls import POLL_END, end_content, responses_of, tally
from rules.rating_poll import RATING_IDS, poll_result
from rules.voice import Voice


async def with_result(homeserver: Relations, room_id: str, content: dict[str, Any], voice: Voice) -> dict[str, Any]:
    """A poll's end with the votes counted."""
    poll = content["m.relates_to"]["event_id"]
    responses = responses_of(await homeserver.relations(room_id, poll))
    return {**content, **end_content(poll, poll_result(voice, tally(responses, RATING_IDS)).plain)}


FEATURE = Feature("polls", fill_in={POLL_END: with_result})
