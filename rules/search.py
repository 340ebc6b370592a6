"""German word forms for full-text search and matching (pure).

Words are reduced to their stems with Snowball's German stemmer, the algorithm PostgreSQL's
`german` configuration uses too ("Vergabeverfahren" → `vergabeverfahr`, umlauts folded). German
compounds share their first part ("Vergabestelle", "Vergabeverfahren"), which no stemmer joins:
a query word is therefore also searched by the shorter prefixes of its stem, down to 40 % of
its length and never below `MIN_PREFIX` letters — "Vergabestelle" finds "Vergabeverfahren"
through `vergab…`, "Vergabe" finds both. An entry that shares a longer part of the word matches
more of these prefixes and so ranks higher.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

_WORD = re.compile(r"[^\W_]+")
# The shortest prefix a long word is searched by, and its share of the word's stem at least.
MIN_PREFIX = 6
PREFIX_SHARE = 0.4
# Words of a query that count (the rest is ignored: a search is a few words, not a text).
MAX_QUERY_WORDS = 8
# Words too common to say anything about an entry.
STOPWORDS = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderen auch auf aus bei beim bin bis bist
    da damit dann das dass dem den denn der des die dies diese diesem diesen dieser dieses doch dort du durch
    ein eine einem einen einer eines einige er es etwas euch euer für gegen hat hatte haben hier hin ich ihr
    ihre ihrem ihren ihrer im in ins ist ja jede jedem jeden jeder jedes kann kein keine können man mehr mit
    muss nach nicht noch nun nur ob oder ohne sehr sich sie sind so solche soll sollen sondern über um und
    uns unser unsere unter viel vom von vor war waren was weil welche wenn wer werden wie wieder will wir wird
    wo zu zum zur zwischen
    biete bieten bietet angebot angeboten suche suchen sucht gesucht
    a an and for in of on or the to with
    """.split()  # noqa: SIM905
)


def words(text: str) -> list[str]:
    """The words of `text` that say something (lower case, no stop words, at least two letters)."""
    return [w for w in (m.group().lower() for m in _WORD.finditer(text)) if len(w) > 1 and w not in STOPWORDS]


@cache
def _german() -> Any:
    """Snowball's German stemmer, loaded on first use (the package loads all of its languages)."""
    import snowballstemmer

    return snowballstemmer.stemmer("german")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The German stem of one lower-case word."""
    return str(_german().stemWord(word))


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


def indexed(text: str) -> str:
    """What a search index holds for `text`: its stems, separated by spaces."""
    return " ".join(stems(text))


def prefixes(word_stem: str) -> tuple[str, ...]:
    """The prefixes a stem is searched by, longest first: the stem itself, and for a long one
    (a compound, most likely) its shorter prefixes down to the shortest that still says something."""
    shortest = max(MIN_PREFIX, math.ceil(len(word_stem) * PREFIX_SHARE))
    if len(word_stem) <= shortest:
        return (word_stem,)
    return tuple(word_stem[:n] for n in range(len(word_stem), shortest - 1, -1))


@dataclass(frozen=True)
class QueryWord:
    """One word of a query: as typed (for PostgreSQL's own stemmer) and the stem prefixes that find it."""

    word: str
    prefixes: tuple[str, ...]


def query(text: str) -> list[QueryWord]:
    """What a search for `text` looks for: every word (any of its prefixes), all words together."""
    seen: dict[str, QueryWord] = {}
    for word in words(text):
        seen.setdefault(word, QueryWord(word, prefixes(stem(word))))
    return list(seen.values())[:MAX_QUERY_WORDS]


def affinity(a: str, b: str) -> float:
    """How far two stems are the same word (1.0), or share the first part of a compound (the
    share of the longer stem they have in common), or nothing (0.0)."""
    if a == b:
        return 1.0
    shared = len(_common_prefix(a, b))
    if shared >= min(len(prefixes(a)[-1]), len(prefixes(b)[-1])):  # as a search for either finds the other
        return shared / max(len(a), len(b))
    return 0.0


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def similarity(first: dict[str, float], second: dict[str, float]) -> float:
    """How alike two texts are, given as stem → weight (0.0 … 1.0): every stem of each counts
    with its weight and its best affinity to a stem of the other."""
    total = sum(first.values()) + sum(second.values())
    if not total:
        return 0.0
    found = sum(w * max((affinity(s, o) for o in second), default=0.0) for s, w in first.items())
    found += sum(w * max((affinity(s, o) for o in first), default=0.0) for s, w in second.items())
    return found / total


def weighted_stems(title: str, description: str | None, title_weight: float = 2.0) -> dict[str, float]:
    """The stems of an entry with their weights: the title counts more than the description."""
    weights = dict.fromkeys(stems(description or ""), 1.0)
    weights.update(dict.fromkeys(stems(title), title_weight))
    return weights
