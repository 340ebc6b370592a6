"""Feedback after a session (pure): reading an answer, the keyed hash that stands for the person,
and the totals, which are shown only from MIN_ANSWERS answers on (fewer could give people away)
and then only in steps: published anew once STEP answers were given or changed since the last
publication, so that the difference between two publications never tells a single answer.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rules.errors import UserError
from rules.i18n import Message
from rules.key_stretching import stretched
from rules.voice import Voice

RATINGS = (1, 2, 3, 4, 5)
# Totals are shown from this many answers on, and published anew after this many new or changed ones.
MIN_ANSWERS = 3
STEP = MIN_ANSWERS
MAX_SENTENCE = 500
# The digit reactions offered on the question, and what each stands for.
DIGITS = {f"{n}\ufe0f\u20e3": n for n in RATINGS}
DIGIT_KEYS = frozenset({*DIGITS, *(f"{n}\u20e3" for n in RATINGS)})  # also without the variation selector
_ANSWER = re.compile(
    r"^\s*([1-5])(?:\s*(?:/\s*5|von\s+5|of\s+5))?(?!\d)(?![,.]\d)[\s.,:;)!–—-]*(.*)$", re.DOTALL | re.I
)
# Derives the feedback key from the bot's secret, so the secret itself never keys anything else.


def rating_of_reaction(key: str) -> int | None:
    """1 to 5 for a digit reaction (1️⃣ … 5️⃣), else None."""
    digit = key[:1]
    return int(digit) if key in DIGIT_KEYS and digit.isdigit() else None


def respondent(secret: str, session_id: int, user_id: str) -> str:
    """The keyed hash that stands for one person's answer to one session (HMAC-SHA256): the same
    person gets the same value for the same session, so a second answer replaces the first; the
    values of two sessions cannot be matched, and without the secret none can be traced back; the
    key is stretched from the secret (scrypt), so guessing the secret from a database copy is dear."""
    key = stretched(secret, "feedback respondent")
    return hmac.new(key, f"{session_id}\n{user_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answer:
    rating: int
    sentence: str | None


def parse_answer(text: str) -> Answer:
    """'4 Gute Beispiele aus Lippstadt' → rating 4 and the sentence; UserError without a rating."""
    match = _ANSWER.match(text)
    if not match:
        raise UserError("feedback.rating_missing")
    sentence = " ".join(match.group(2).split())
    if len(sentence) > MAX_SENTENCE:
        raise UserError("feedback.too_long", maximum=MAX_SENTENCE)
    return Answer(int(match.group(1)), sentence or None)


@dataclass(frozen=True)
class Totals:
    """How a session was rated: number of answers, how many gave each rating, the average."""

    count: int
    distribution: dict[int, int]
    average: float


def totals(ratings: Iterable[int], minimum: int = MIN_ANSWERS) -> Totals | None:
    """The totals of these ratings, or None below `minimum` answers (and with none at all)."""
    given = list(ratings)
    if len(given) < max(minimum, 1):
        return None
    distribution = {n: given.count(n) for n in RATINGS}
    return Totals(len(given), distribution, sum(given) / len(given))


def step_due(unpublished: int) -> bool:
    """Whether the totals are published anew: `unpublished` answers (given or changed since the
    last publication) make a step."""
    return unpublished >= STEP


def totals_of_counts(counts: dict[int, int]) -> Totals | None:
    """The totals of a distribution (how many gave each rating), or None when it is empty."""
    return totals((rating for rating, given in counts.items() for _ in range(given)), minimum=1)


def average_text(voice: Voice, average: float) -> str:
    """4.3 → '4,3' in German, '4.3' in English."""
    text = f"{average:.1f}"
    return text.replace(".", ",") if voice.language == "de" else text


def totals_line(voice: Voice, result: Totals) -> Message:
    """One line: the average, the number of answers and the distribution."""
    spread = " · ".join(f"{n}: {result.distribution[n]}" for n in reversed(RATINGS))
    return voice.t("feedback.totals", average=average_text(voice, result.average), count=result.count, spread=spread)


def evaluation(
    voice: Voice,
    ref: str,
    title: str,
    count: int,
    result: Totals | None,
    sentences: Sequence[str],
    rng: random.Random,
    pending: int = 0,
) -> Message:
    """`!auswertung`: the published totals and their sentences in random order (never in the
    order given, which could match the order people answered in), and how many newer answers wait
    for the next step; below MIN_ANSWERS only how many there are."""
    head = voice.t("feedback.evaluation_head", ref=ref, title=title)
    if result is None:
        return Message.join([head, voice.t("feedback.too_few", count=count, minimum=MIN_ANSWERS)])
    shuffled = list(sentences)
    rng.shuffle(shuffled)
    lines = [head, totals_line(voice, result)]
    if pending:
        lines.append(voice.t("feedback.pending", count=pending, step=STEP))
    if shuffled:
        lines.append(voice.t("feedback.sentences_head"))
        lines += [voice.t("feedback.sentence", text=s) for s in shuffled]
    return Message.join(lines)
