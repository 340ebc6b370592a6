"""The rating poll (pure): a Matrix poll with the answers 5 to 1 for a session, and its result
in the words of the feedback totals."""

from __future__ import annotations

from typing import Any

from rules.feedback import RATINGS, totals, totals_line
from rules.i18n import Message
from rules.polls import start_content
from rules.voice import Voice

RATING_IDS = tuple(str(n) for n in RATINGS)
# The poll's answers, best first.
ANSWERS = {5: "polls.answer_5", 4: "polls.answer_4", 3: "polls.answer_3", 2: "polls.answer_2", 1: "polls.answer_1"}


def rating_poll(voice: Voice, ref: str, title: str) -> dict[str, Any]:
    """The poll's content: the question, which says that votes are visible to the room, the
    answers 5 (best) to 1, and the text fallback."""
    question = voice.t("polls.question", ref=ref, title=title).plain
    answers = [(str(n), voice.t(key).plain) for n, key in ANSWERS.items()]
    fallback = "\n".join([question, *(f"{n}. {text}" for n, (_, text) in enumerate(answers, 1))])
    return start_content(question, answers, fallback)


def poll_result(voice: Voice, counts: dict[str, int]) -> Message:
    """What the end of the poll says: the totals, or that nobody voted."""
    ratings = [int(ident) for ident, count in counts.items() for _ in range(count)]
    result = totals(ratings, minimum=1)
    if result is None:
        return voice.t("polls.ended_empty")
    return Message.join([voice.t("polls.ended"), totals_line(voice, result)])
