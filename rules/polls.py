"""Matrix polls (MSC3381, the unstable `org.matrix.msc3381.*` events Element sends today), pure:
the start event with its text fallback, reading responses (both prefixes), counting them the
way clients do, and the end event. Votes in a poll are visible to everyone in the room.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
STABLE_RESPONSE = "m.poll.response"
TEXT = "org.matrix.msc1767.text"
DISCLOSED = "org.matrix.msc3381.poll.disclosed"


def start_content(question: str, answers: Sequence[tuple[str, str]], fallback: str) -> dict[str, Any]:
    """A single-choice poll whose results everyone sees while it runs; `answers` are (id, text);
    `fallback` is what clients without polls show."""
    return {
        POLL_START: {
            "question": {TEXT: question, "body": question, "msgtype": "m.text"},
            "kind": DISCLOSED,
            "max_selections": 1,
            "answers": [{"id": ident, TEXT: text} for ident, text in answers],
        },
        TEXT: fallback,
        "body": fallback,
        "m.mentions": {},
    }


def end_content(poll_event_id: str | None, text: str) -> dict[str, Any]:
    """The end of a poll (sent by its creator), with the results as text; `poll_event_id` None:
    the deliverer fills in the poll's event."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event_id},
        POLL_END: {},
        TEXT: text,
        "body": text,
    }


@dataclass(frozen=True)
class Response:
    sender: str
    sent_at: int  # origin_server_ts
    answers: tuple[str, ...]


def responses_of(events: Iterable[dict[str, Any]]) -> list[Response]:
    """The poll responses among related events (unstable and stable prefix)."""
    found = []
    for event in events:
        content = event.get("content") or {}
        block = content.get(POLL_RESPONSE) or content.get(STABLE_RESPONSE)
        if event.get("type") not in (POLL_RESPONSE, STABLE_RESPONSE) or not isinstance(block, dict):
            continue
        answers = block.get("answers")
        if isinstance(answers, list) and all(isinstance(a, str) for a in answers):
            found.append(Response(str(event.get("sender")), int(event.get("origin_server_ts") or 0), tuple(answers)))
    return found


def tally(responses: Iterable[Response], answer_ids: Sequence[str], max_selections: int = 1) -> dict[str, int]:
    """Votes per answer as clients count them: each person's latest response counts; one naming
    an unknown answer is spoiled; more than `max_selections` are cut; an empty one is no vote."""
    latest: dict[str, Response] = {}
    for response in responses:
        if response.sender not in latest or latest[response.sender].sent_at < response.sent_at:
            latest[response.sender] = response
    counts = dict.fromkeys(answer_ids, 0)
    for response in latest.values():
        if any(a not in counts for a in response.answers):
            continue
        for answer in dict.fromkeys(response.answers[:max_selections]):
            counts[answer] += 1
    return counts
