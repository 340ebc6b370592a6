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
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

_WORD = re.compile(r"[^\W_]+")
# The shortest prefix a long word is searched by, and its share of the word's stem at least.
MIN_PREFIX = 6
PREFIX_SHARE = 0.4
# Words of a query that count (the rest is ignored: a search is a few words, not a text).
MAX_QUERY_WORDS = 8
# Words of an entry that its candidates for a match are looked up by (see `key_heads`).
MAX_KEY_WORDS = 8
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
    return [w for w in map(str.lower, _WORD.findall(text)) if len(w) > 1 and w not in STOPWORDS]


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


@lru_cache(maxsize=65536)
def shortest_prefix(word_stem: str) -> int:
    """The length of the shortest prefix a stem is searched by: 40 % of it, at least `MIN_PREFIX`
    letters, and the whole stem when it is no longer than that."""
    return min(len(word_stem), max(MIN_PREFIX, math.ceil(len(word_stem) * PREFIX_SHARE)))


def prefixes(word_stem: str) -> tuple[str, ...]:
    """The prefixes a stem is searched by, longest first: the stem itself, and for a long one
    (a compound, most likely) its shorter prefixes down to the shortest that still says something."""
    return tuple(word_stem[:n] for n in range(len(word_stem), shortest_prefix(word_stem) - 1, -1))


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


def key_heads(title: str, description: str | None, limit: int = MAX_KEY_WORDS) -> list[str]:
    """What other entries are looked up by to compare them with an entry: of its title's words,
    then its description's longest (in German the compounds, which say most), the first
    `MIN_PREFIX` letters of each stem (every longer stem alike to it begins so, see `affinity`),
    or a shorter stem whole; each once, at most `limit`."""
    found: dict[str, None] = {}
    for word in [*words(title), *sorted(words(description or ""), key=len, reverse=True)]:
        found.setdefault(stem(word)[:MIN_PREFIX])
        if len(found) == limit:
            break
    return list(found)


def affinity(a: str, b: str) -> float:
    """How far two stems are the same word (1.0), or share the first part of a compound (the
    share of the longer stem they have in common), or nothing (0.0)."""
    if a == b:
        return 1.0
    shared = _shared_length(a, b)
    if shared >= min(shortest_prefix(a), shortest_prefix(b)):  # as a search for either finds the other
        return shared / max(len(a), len(b))
    return 0.0


def _shared_length(a: str, b: str) -> int:
    """How many letters two stems have in common at their start."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class Weighted:
    """A text as stem → weight, ready to be compared with many others (`similarity`).

    Two stems are alike only when they share their first `min(len(a), len(b), MIN_PREFIX)`
    letters (see `affinity`: no searched prefix is shorter than that). So the stems a stem `s`
    may be alike to are those beginning with `s[:MIN_PREFIX]`, and the shorter ones that begin
    `s`: kept sorted, they are found without comparing `s` with every stem of the text."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights
        self.total = sum(weights.values())
        self._ordered = sorted(weights)
        self._best: dict[str, float] = {}

    def _alike(self, word_stem: str) -> Iterator[str]:
        head = word_stem[:MIN_PREFIX]
        at = bisect_left(self._ordered, head)
        while at < len(self._ordered) and self._ordered[at].startswith(head):
            yield self._ordered[at]
            at += 1
        for n in range(1, len(head)):
            if word_stem[:n] in self.weights:
                yield word_stem[:n]

    def best(self, word_stem: str) -> float:
        """The best affinity of `word_stem` to a stem of this text (remembered: a text compared
        with many others meets their common words again and again)."""
        found = self._best.get(word_stem)
        if found is None:
            if word_stem in self.weights:
                found = 1.0
            else:
                found = max((affinity(word_stem, other) for other in self._alike(word_stem)), default=0.0)
            self._best[word_stem] = found
        return found

    def similarity(self, other: Weighted) -> float:
        """How alike the two texts are (0.0 … 1.0): every stem of each counts with its weight and
        its best affinity to a stem of the other. It takes time in proportion to the texts'
        lengths, not to their product."""
        total = self.total + other.total
        if not total:
            return 0.0
        found = sum(w * other.best(s) for s, w in self.weights.items())
        found += sum(w * self.best(s) for s, w in other.weights.items())
        return found / total


def similarity(first: dict[str, float], second: dict[str, float]) -> float:
    """How alike two texts are, given as stem → weight (see `Weighted.similarity`)."""
    return Weighted(first).similarity(Weighted(second))


def weighted_stems(title: str, description: str | None, title_weight: float = 2.0) -> dict[str, float]:
    """The stems of an entry with their weights: the title counts more than the description."""
    weights = dict.fromkeys(stems(description or ""), 1.0)
    weights.update(dict.fromkeys(stems(title), title_weight))
    return weights
