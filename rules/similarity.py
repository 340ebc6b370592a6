"""How alike two short German titles are (pure): for pointing a new topic wish to existing ones.

Both titles are folded (lower case, umlauts and ß written out), split into words, stripped of
function words ("der", "für", "in" …) and of common inflection endings, so "Mobiles Arbeiten"
and "mobile Arbeit" share their stems. Compounds ("Fördermittelberatung" against "Beratung zu
Fördermitteln") share few whole words but many letter triples, so the score is the larger of
the two overlaps: of word stems and of character trigrams (each a Dice coefficient, 0 to 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# From this score on, a title counts as looking like another one.
ALIKE = 0.5
# At most this many look-alikes are pointed to.
MAX_HINTS = 3

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"[a-z0-9]+")
# Function words that say nothing about the topic.
_FUNCTION_WORDS = (
    "der die das den dem des ein eine einen einem einer eines und oder aber fuer von vom zu zum zur "
    "im in ins an am auf aus bei mit ohne ueber unter nach vor wie was wer wo als auch nicht noch "
    "so sich ihr ihre unsere unser sie wir es ist sind wird werden kann koennen the of and for to"
)
_STOPWORDS = frozenset(_FUNCTION_WORDS.split())
_ENDINGS = ("ern", "em", "en", "er", "es", "e", "n", "s")
MIN_STEM = 4


def fold(text: str) -> str:
    """Lower case with umlauts and ß written out ("Fördermittel" → "foerdermittel")."""
    return text.lower().translate(_FOLD)


def stem(word: str) -> str:
    """A word without one common German inflection ending, if the rest is still long enough."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def stems(text: str) -> list[str]:
    """The stems of the content words of `text`, in order."""
    return [stem(w) for w in _WORD.findall(fold(text)) if w not in _STOPWORDS]


def trigrams(words: Iterable[str]) -> set[str]:
    """The letter triples of each word, padded so that beginnings and ends count too."""
    found: set[str] = set()
    for word in words:
        padded = f"  {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def similarity(a: str, b: str) -> float:
    """How alike two titles are, from 0 (nothing in common) to 1 (the same words)."""
    stems_a, stems_b = stems(a), stems(b)
    return max(_dice(set(stems_a), set(stems_b)), _dice(trigrams(stems_a), trigrams(stems_b)))


@dataclass(frozen=True)
class Candidate:
    """An existing wish to compare with."""

    number: int
    title: str


def look_alikes(title: str, candidates: Iterable[Candidate], threshold: float = ALIKE) -> list[Candidate]:
    """The candidates that look like `title`, most alike first (at most MAX_HINTS)."""
    scored = [(similarity(title, c.title), c) for c in candidates]
    alike = sorted((x for x in scored if x[0] >= threshold), key=lambda x: (-x[0], x[1].number))
    return [c for _, c in alike[:MAX_HINTS]]
