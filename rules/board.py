"""The cooperation board (pure): offers and needs of municipalities, their numbers `A<n>`, the
`Kategorie: Titel | Beschreibung` form, categories, states, matching and expiry.

Expiry decisions take `now` as an argument: an entry lives `expiry` from its creation (or its
last renewal); `renew_notice` before that its author is asked to renew it.

Matching is bounded whatever the board holds: a new entry is compared with at most
`MAX_CANDIDATES` entries (those its words find first in the search index), each read up to the
length a card shows, and the comparison takes time in proportion to the texts' lengths.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from rules.errors import UserError
from rules.i18n import Message
from rules.search import Weighted, weighted_stems
from rules.voice import Voice

DEFAULT_CATEGORIES = (
    "Vergabe und Beschaffung",
    "Fördermittel",
    "Personal",
    "Digitalisierung/OZG",
    "Mobiles Arbeiten",
    "Klimaschutz und Wärmeplanung",
    "Sonstiges",
)
# What a card in the board room shows; longer entries are refused (older, longer ones are compared
# by their beginning only).
MAX_TITLE = 200
MAX_DESCRIPTION = 1000
# The whole `Kategorie: Titel | Beschreibung` as typed (with the category and some spaces).
MAX_TEXT = MAX_TITLE + MAX_DESCRIPTION + 200
# Two entries this alike (see `rules.search.similarity`) are worth telling their authors about.
MATCH_THRESHOLD = 0.15
# At most this many matches are told about one new entry.
MAX_MATCHES = 3
# A new entry is compared with at most this many entries: those its words find first.
MAX_CANDIDATES = 24
# What one person may have on the board at a time, and the contacts they may ask for in a day.
MAX_OPEN_ENTRIES = 10
MAX_CONTACTS_PER_DAY = 10
_REF = re.compile(r"^[Aa]?(\d{1,9})$")
_CATEGORY_CUTOFF = 0.8


class EntryKind(StrEnum):
    OFFER = "offer"  # !biete
    NEED = "need"  # !suche

    @property
    def other(self) -> EntryKind:
        return EntryKind.NEED if self == EntryKind.OFFER else EntryKind.OFFER


class EntryState(StrEnum):
    OPEN = "open"  # offen
    TALKING = "talking"  # im Gespräch: someone asked for contact
    AGREED = "agreed"  # vereinbart
    DONE = "done"  # erledigt
    WITHDRAWN = "withdrawn"  # zurückgezogen
    EXPIRED = "expired"  # abgelaufen, not renewed in time
    HIDDEN = "hidden"  # gesperrt: taken down by a coordinator of the board room


class EntryAction(StrEnum):
    """What `!eintrag A<n> <Wort>` asks for besides a new state."""

    RENEW = "renew"  # verlängern (the author)
    HIDE = "hide"  # sperren (a coordinator of the board room)


KIND_KEYS = {EntryKind.OFFER: "board.kind_offer", EntryKind.NEED: "board.kind_need"}
STATE_KEYS = {
    EntryState.OPEN: "board.state_open",
    EntryState.TALKING: "board.state_talking",
    EntryState.AGREED: "board.state_agreed",
    EntryState.DONE: "board.state_done",
    EntryState.WITHDRAWN: "board.state_withdrawn",
    EntryState.EXPIRED: "board.state_expired",
    EntryState.HIDDEN: "board.state_hidden",
}


# Entries that are still looking for a partner: searched, matched, contactable.
ACTIVE = (EntryState.OPEN, EntryState.TALKING)
# States the author may set with `!eintrag A<n> <Wort>`.
STATE_WORDS = {
    "offen": EntryState.OPEN,
    "open": EntryState.OPEN,
    "vereinbart": EntryState.AGREED,
    "agreed": EntryState.AGREED,
    "erledigt": EntryState.DONE,
    "done": EntryState.DONE,
    "zurückgezogen": EntryState.WITHDRAWN,
    "zurueckgezogen": EntryState.WITHDRAWN,
    "zurückziehen": EntryState.WITHDRAWN,
    "withdrawn": EntryState.WITHDRAWN,
}
# What `!eintrag A<n> <Wort>` may say: a state, or an action.
ACTION_WORDS: dict[str, EntryState | EntryAction] = {
    **STATE_WORDS,
    **dict.fromkeys(("verlängern", "verlaengern", "renew"), EntryAction.RENEW),
    **dict.fromkeys(("sperren", "hide"), EntryAction.HIDE),
}
# From these states an entry can be changed no more (only renewed, when it expired).
FINAL = (EntryState.DONE, EntryState.WITHDRAWN, EntryState.EXPIRED, EntryState.HIDDEN)


def entry_ref(number: int | None) -> str:
    """How an entry is named to users: `A12`."""
    return f"A{number}"


def parse_ref(text: str) -> int | None:
    """12 from `A12`, `a12` or `12`; None when it is no entry number."""
    match = _REF.match(text.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Draft:
    """A new entry as someone wrote it: category as typed, title, description. Refused (on
    creation) when a part is missing or longer than a card shows."""

    category: str
    title: str
    description: str | None

    def __post_init__(self) -> None:
        if not self.category.strip() or not self.title.strip():
            raise UserError("board.usage")
        if len(self.title) > MAX_TITLE:
            raise UserError("board.title_too_long", maximum=MAX_TITLE, length=len(self.title))
        if self.description and len(self.description) > MAX_DESCRIPTION:
            raise UserError("board.description_too_long", maximum=MAX_DESCRIPTION, length=len(self.description))


def parse_draft(text: str) -> Draft:
    """`Kategorie: Titel | Beschreibung` (the description may be left out)."""
    category, colon, rest = text.partition(":")
    title, _, description = rest.partition("|")
    category, title, description = (" ".join(x.split()) for x in (category, title, description))
    if not colon:
        raise UserError("board.usage")
    return Draft(category, title, description or None)


def _folded(text: str) -> str:
    """Lower case, umlauts spelled out, accents dropped, only letters and digits: `Wärme-Planung` →
    `waermeplanung`."""
    spelled = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", spelled)
    return "".join(c for c in decomposed if c.isalnum())


def match_category(text: str, categories: Sequence[str]) -> str | None:
    """The category `text` names, forgiving case, umlauts, punctuation and small typos, and
    accepting one word of a category's name ("Vergabe", "OZG"); None when it names none."""
    wanted = _folded(text)
    if not wanted:
        return None
    names = {_folded(c): c for c in categories}
    if wanted in names:
        return names[wanted]
    words: dict[str, set[str]] = {}
    for category in categories:
        for word in re.split(r"[\s/,]+", category):
            if len(_folded(word)) > 2 and word.lower() not in ("und", "and"):
                words.setdefault(_folded(word), set()).add(category)
    if len(words.get(wanted, ())) == 1:
        return next(iter(words[wanted]))
    from difflib import get_close_matches  # on a typo only: not kept at rest

    close = get_close_matches(wanted, [*names, *words], n=1, cutoff=_CATEGORY_CUTOFF)
    if not close:
        return None
    if close[0] in names:
        return names[close[0]]
    found = words[close[0]]
    return next(iter(found)) if len(found) == 1 else None


def require_category(text: str, categories: Sequence[str]) -> str:
    category = match_category(text, categories)
    if category is None:
        raise UserError("board.unknown_category", category=text, categories=", ".join(categories))
    return category


def change_state(current: EntryState, wanted: EntryState) -> EntryState:
    """The state an author's `!eintrag A<n> <Wort>` leads to; refused from a final state or
    when nothing would change."""
    if current == EntryState.HIDDEN:
        raise UserError("board.hidden")
    if current in FINAL:
        raise UserError("board.state_final")
    if wanted == current:
        raise UserError("board.state_same")
    return wanted


# --- Expiry -------------------------------------------------------------------------------------


def expires_at(now: datetime, expiry: timedelta) -> datetime:
    """When an entry created (or renewed) at `now` expires."""
    return now + expiry


def renewal_due(expiry_at: datetime, renew_notice: timedelta, now: datetime) -> datetime:
    """When the author is asked to renew: `renew_notice` before expiry, but not before `now`."""
    return max(expiry_at - renew_notice, now)


def is_active(state: str, expiry_at: datetime, now: datetime) -> bool:
    """Whether an entry is still looking for a partner at `now`."""
    return state in ACTIVE and now < expiry_at


def renewal_reminder_due(state: str, expiry_at: datetime, now: datetime) -> bool:
    """Whether the reminder to renew still makes sense at `now` (the entry is active, not expired)."""
    return state in (*ACTIVE, EntryState.AGREED) and now < expiry_at


def expiry_due(state: str, expiry_at: datetime, now: datetime) -> bool:
    """Whether the entry expires now: it has reached its time and was not closed before."""
    return state not in FINAL and now >= expiry_at


def renewed_state(current: EntryState) -> EntryState:
    """The state an entry has once its author renewed it: an expired one is open again; refused
    when it was closed or taken down."""
    if current == EntryState.HIDDEN:
        raise UserError("board.hidden")
    if current in (EntryState.DONE, EntryState.WITHDRAWN):
        raise UserError("board.state_final")
    return EntryState.OPEN if current == EntryState.EXPIRED else current


# --- Matching -----------------------------------------------------------------------------------


class EntryView(Protocol):
    """What rendering and matching need of an entry."""

    @property
    def id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def municipality(self) -> str | None: ...
    @property
    def author(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


@dataclass(frozen=True)
class Match:
    entry: EntryView
    score: float


def _stems(entry: EntryView) -> Weighted:
    """An entry's words as matching compares them: as far as a card shows them."""
    return Weighted(weighted_stems(entry.title[:MAX_TITLE], (entry.description or "")[:MAX_DESCRIPTION]))


def matches(new: EntryView, candidates: Iterable[EntryView], now: datetime) -> list[Match]:
    """The open entries of the other kind in the same category that are alike enough to `new`
    (never the author's own), best first, at most MAX_MATCHES."""
    mine = _stems(new)
    found = []
    for other in candidates:
        if (
            other.kind == new.kind
            or other.category != new.category
            or other.author == new.author
            or other.id == new.id
            or not is_active(other.state, other.expires_at, now)
        ):
            continue
        score = mine.similarity(_stems(other))
        if score >= MATCH_THRESHOLD:
            found.append(Match(other, score))
    found.sort(key=lambda m: (-m.score, m.entry.id or 0))
    return found[:MAX_MATCHES]


# --- Rendering ----------------------------------------------------------------------------------


def state_text(voice: Voice, state: str) -> Message:
    """An entry's state as users read it ("im Gespräch")."""
    return voice.t(STATE_KEYS[EntryState(state)])


def kind_text(voice: Voice, kind: str) -> Message:
    """How users read an entry's kind: „Angebot“ or „Gesuch“."""
    return voice.t(KIND_KEYS[EntryKind(kind)])


def summary_line(voice: Voice, entry: EntryView) -> Message:
    """One line: `A12 · Angebot · Kategorie · Titel (Kommune)`."""
    return voice.t(
        "board.line",
        ref=entry_ref(entry.id),
        kind=kind_text(voice, entry.kind),
        category=entry.category,
        title=entry.title,
        municipality=entry.municipality or voice.t("board.no_municipality").plain,
        state=state_text(voice, entry.state),
    )


def card(voice: Voice, entry: EntryView) -> Message:
    """The entry as the board room shows it: kind, category, title, text, municipality, state,
    until when, and how to get in touch. It never names the author."""
    lines = [
        voice.t(
            "board.card_head",
            ref=entry_ref(entry.id),
            kind=kind_text(voice, entry.kind),
            category=entry.category,
        ),
        voice.t("board.card_title", title=entry.title),
    ]
    if entry.description:
        lines.append(voice.t("board.card_description", description=entry.description))
    lines.append(
        voice.t(
            "board.card_footer",
            municipality=entry.municipality or voice.t("board.no_municipality").plain,
            state=state_text(voice, entry.state),
            until=voice.short(entry.expires_at),
        )
    )
    if entry.state in ACTIVE:
        lines.append(voice.t("board.card_contact", ref=entry_ref(entry.id)))
    return Message.join(lines)
