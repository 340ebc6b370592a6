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
"""

from __future__ import annotations

import re
import unicodedata

ZWJ = "\u200d"
KEPT_CONTROLS = frozenset("\t\n\r")
_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")


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
