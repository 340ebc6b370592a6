"""The directory of the regions' municipalities, and matching what people type against it (pure).

The directory ships as `rules/data/municipalities.toml` (with its sources) and is edited by the
config's `[municipalities]` table. `match` forgives case, "Stadt"/"Gemeinde"/"Hansestadt" in
front, "(Westf.)"/"westf"/"Westfalen", umlauts and ß written as ae/oe/ue/ss or a/o/u, a name's
first words ("Schloß Holte") and small typos; a typo is never taken for sure but asked back.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from pathlib import Path
from typing import Any

_DATA = Path(__file__).with_name("data") / "municipalities.toml"
# Words in front of a name that say what kind of municipality it is.
_KINDS = frozenset({"stadt", "gemeinde", "hansestadt", "kommune", "stadtverwaltung", "gemeindeverwaltung"})
# Words after the first that only say where it lies ("Halle (Westf.)", "Halle i. W.").
_WHERE = frozenset({"westf", "westfalen", "i", "in", "w"})
_UMLAUTS = ({"ä": "ae", "ö": "oe", "ü": "ue"}, {"ä": "a", "ö": "o", "ü": "u"})
_NOT_WORD = re.compile(r"[^a-z0-9]+")
MIN_PREFIX = 3  # a name's first words count when they have at least this many letters
MAX_CANDIDATES = 3
MAX_MUNICIPALITY = 100  # characters of a typed municipality


class Outcome(StrEnum):
    SURE = "sure"  # one municipality of the directory
    UNSURE = "unsure"  # close to one or more: ask back
    NONE = "none"  # nothing close: keep the text, marked as not in the directory


@dataclass(frozen=True)
class Match:
    """What a typed name matched: `name` (canonical) when sure, `candidates` to ask back about."""

    outcome: Outcome
    text: str
    name: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Directory:
    """Municipalities by region (canonical names, in the order of the sources), and other names
    people use for some of them. A municipality may belong to several regions."""

    regions: Mapping[str, tuple[str, ...]]
    aliases: Mapping[str, str]

    def names(self) -> list[str]:
        """Every municipality once, in region order."""
        return list(dict.fromkeys(n for members in self.regions.values() for n in members))

    def regions_of(self, name: str) -> tuple[str, ...]:
        return tuple(r for r, members in self.regions.items() if name in members)

    def is_listed(self, name: str) -> bool:
        """Whether `name` is a canonical name of the directory (not free text)."""
        return any(name in members for members in self.regions.values())

    def edited(self, add: Mapping[str, Iterable[str]], remove: Mapping[str, Iterable[str]]) -> Directory:
        """The directory with names added to and removed from regions (KeyError: unknown region;
        ValueError naming what was to be removed but is not there)."""
        regions = {region: list(members) for region, members in self.regions.items()}
        for region, names in remove.items():
            for name in names:
                if name not in regions[region]:
                    raise ValueError(name)
                regions[region].remove(name)
        for region, names in add.items():
            regions[region].extend(n for n in names if n not in regions[region])
        listed = {n for members in regions.values() for n in members}
        aliases = {alias: name for alias, name in self.aliases.items() if name in listed}
        return Directory({r: tuple(m) for r, m in regions.items()}, aliases)

    @cached_property
    def index(self) -> list[tuple[tuple[str, ...], str]]:
        """(words, canonical name) for every spelling of every name and alias."""
        entries = [(name, name) for name in self.names()]
        entries += [(alias, name) for alias, name in self.aliases.items()]
        return list(dict.fromkeys((words, name) for text, name in entries for words in _spellings(text)))


@cache
def shipped() -> Directory:
    """The directory as shipped in `rules/data/municipalities.toml`."""
    with open(_DATA, "rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    regions = {region: tuple(table["members"]) for region, table in data["regions"].items()}
    return Directory(regions, dict(data.get("aliases", {})))


def _words(text: str, umlauts: Mapping[str, str]) -> list[str]:
    """The words that identify a municipality: lower case, umlauts and ß spelled out, accents
    and punctuation dropped, kind words in front and place qualifiers after the first word left out."""
    text = text.casefold().replace("ß", "ss")
    for umlaut, spelled in umlauts.items():
        text = text.replace(umlaut, spelled)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in _NOT_WORD.split(text) if w]
    while len(words) > 1 and words[0] in _KINDS:
        words.pop(0)
    return words[:1] + [w for w in words[1:] if w not in _WHERE]


def _spellings(text: str) -> set[tuple[str, ...]]:
    """The word lists of `text` with umlauts spelled both ways."""
    return {tuple(_words(text, umlauts)) for umlauts in _UMLAUTS} - {()}


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def allowed_typos(length: int) -> int:
    """How many edits still count as a typo in a name of `length` letters."""
    if length < 4:
        return 0
    if length < 8:
        return 1
    return 2 if length < 13 else 3


def match(directory: Directory, text: str, typos: bool = True) -> Match:
    """The municipality `text` names: sure (the same words, or the first words of only one name),
    unsure (the first words of several names, or — unless `typos` is false — a typo away from
    some), or none."""
    typed = " ".join(text.split())
    spellings = _spellings(typed)
    if not spellings:
        return Match(Outcome.NONE, typed)
    index = directory.index
    exact = {name for words, name in index if words in spellings}
    if len(exact) == 1:
        return Match(Outcome.SURE, typed, name=exact.pop())
    starts = {
        name
        for words, name in index
        for typed_words in spellings
        if len("".join(typed_words)) >= MIN_PREFIX and words[: len(typed_words)] == typed_words
    }
    if len(starts) == 1:
        return Match(Outcome.SURE, typed, name=starts.pop())
    if starts:
        return Match(Outcome.UNSURE, typed, candidates=_ordered(directory, starts)[:MAX_CANDIDATES])
    if not typos:
        return Match(Outcome.NONE, typed)
    close: dict[str, int] = {}
    for words, name in index:
        for typed_words in spellings:
            edits = _typos(typed_words, words)
            if edits is not None:
                close[name] = min(edits, close.get(name, edits))
    if not close:
        return Match(Outcome.NONE, typed)
    ranked = sorted(close, key=lambda n: (close[n], n))
    return Match(Outcome.UNSURE, typed, candidates=tuple(ranked[:MAX_CANDIDATES]))


def _typos(typed: tuple[str, ...], words: tuple[str, ...]) -> int | None:
    """The edits between what was typed and a name (or as many of the name's first words), if few
    enough to be a typo."""
    compact = "".join(typed)
    budget = allowed_typos(len(compact))
    keys = {"".join(words), "".join(words[: len(typed)])}
    edits = [distance(compact, key) for key in keys if abs(len(compact) - len(key)) <= budget]
    return min(edits) if edits and min(edits) <= budget else None


def _ordered(directory: Directory, names: set[str]) -> tuple[str, ...]:
    return tuple(n for n in directory.names() if n in names)
