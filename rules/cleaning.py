"""Invisible characters taken out of what people type before the bot stores or shows it (pure).

Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) let a text look
different from what it is: `https://example.org/‮fdp.exe` shows as `…/exe.pdf`. Zero-width
characters (U+200B, U+200C, U+2060, U+FEFF, the soft hyphen …) make two texts that look the same
differ, or hide text altogether (Unicode tag characters). So every format character (category
Cf), every control character but tab and line breaks (Cc) and every lone surrogate (Cs) is
removed, except what emoji need:

- U+200D ZERO WIDTH JOINER between two visible non-ASCII characters (👩‍💻, and joined letters of
  Indic scripts); between ASCII letters it does nothing visible and is removed;
- tag characters U+E0020–U+E007F only as the tail of a subdivision flag (🏴 + tags + U+E007F,
  e.g. the flag of Scotland); anywhere else they are invisible text and are removed.

Variation selectors such as U+FE0F (❤️) and skin tones are not format characters and stay.

A person's display name goes into lines the bot writes (a Q&A ranking, a talk offer), so it is
put on one line there and must not pass for something else: the word the bot writes for an
anonymous asker, or someone's Matrix id (`person_name`).
"""

from __future__ import annotations

import re
import unicodedata

ZWJ = "\u200d"
MAX_NAME = 64  # characters of a display name in a line the bot writes
KEPT_CONTROLS = frozenset("\t\n\r")
_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
# A Matrix user id inside a name ("Anna (@anna:stadt.de)"), with the brackets around it.
_MATRIX_ID = re.compile(r"[(\[<{]?\s*@[^\s:@]+:[^\s)\]>}]+\s*[)\]>}]?")
# Letters of other scripts that look like the Latin ones of "anonym" (after NFKC and casefold).
_LOOK_ALIKES = str.maketrans("аɑαоοօ0уүʏмոпɴ", "aaaooooyyymnnn")
ANONYMOUS = "anonym"  # the stem of the word the bot writes for an anonymous asker (anonym, anonymous)


def _visible_non_ascii(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char) not in ("Cf", "Cc", "Cs", "Zs", "Zl", "Zp")


def clean(text: str) -> str:
    """`text` without bidirectional, zero-width and other invisible control characters (see above)."""
    if text.isascii() and text.isprintable():
        return text  # the common case, quickly
    flag_tags = {i for match in _FLAG.finditer(text) for i in range(match.start() + 1, match.end())}
    kept = []
    for i, char in enumerate(text):
        category = unicodedata.category(char)
        if (category == "Cc" and char not in KEPT_CONTROLS) or category == "Cs":
            continue
        if category == "Cf":
            joins = (
                char == ZWJ
                and 0 < i < len(text) - 1
                and _visible_non_ascii(text[i - 1])
                and _visible_non_ascii(text[i + 1])
            )
            if not (joins or i in flag_tags):
                continue
        kept.append(char)
    return "".join(kept)


def invisible(text: str) -> bool:
    """True when `text` has a character that `clean` would remove, or a joiner (links must have none)."""
    return any(unicodedata.category(c) in ("Cf", "Cc", "Cs") for c in text)


def one_line(text: str) -> str:
    """`text` cleaned (see `clean`) and on one line: line breaks, tabs and runs of spaces become one space."""
    return " ".join(clean(text).split())


def person_name(display: str | None, user_id: str, *, with_id: bool = False) -> str:
    """How the bot names a person in a line it writes: the display name on one line (at most
    MAX_NAME characters), or the id when there is none. The id follows in parentheses when
    `with_id`, and always when the name could pass for something else: when it looks like the
    word for an anonymous asker ("anonym", also in look-alike letters), or holds a Matrix id
    (which is taken out: "X (@coord:…)" shows as "X (@real:…)")."""
    name = one_line(display or "")
    pretends = bool(_MATRIX_ID.search(unicodedata.normalize("NFKC", name)))
    if pretends:
        name = one_line(_MATRIX_ID.sub(" ", unicodedata.normalize("NFKC", name)))
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 1].rstrip() + "…"
    if not name or name == user_id:
        return user_id
    return f"{name} ({user_id})" if with_id or pretends or _looks_anonymous(name) else name


def _looks_anonymous(name: str) -> bool:
    """Whether `name` reads as "anonym": compared in lower case, without accents, spaces,
    punctuation and look-alike letters of other scripts ("Аnоnym", "a n o n y m", "ánonym")."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name).casefold())
    skeleton = "".join(c for c in decomposed.translate(_LOOK_ALIKES) if c.isalpha() and c.isascii())
    return ANONYMOUS in skeleton.replace("rn", "m")
