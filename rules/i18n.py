"""Message catalogues (German first, English second) and safe rendering to plain text and HTML.

Catalogue entries are TOML strings with `{name}` placeholders and `**bold**` markup. Parameters
are user text: in the HTML variant they are escaped, so a title like `<script>` shows as text.
"""

from __future__ import annotations

import html
import json
import re
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("de", "en")
# The plain and HTML text of one event together, in bytes: well below Matrix's 64 KiB event limit.
MAX_PART_BYTES = 59 * 1024
DEFAULT_LANGUAGE = "de"
_LOCALES = Path(__file__).with_name("locales")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class Message:
    """A rendered message: `plain` for `body`, `html` for `formatted_body`."""

    plain: str
    html: str

    @staticmethod
    def join(parts: list[Message], separator: str = "\n") -> Message:
        return Message(
            separator.join(p.plain for p in parts),
            _escape(separator).join(p.html for p in parts),
        )

    def split(self, limit: int = MAX_PART_BYTES) -> list[Message]:
        """Whole lines in pieces whose plain and HTML text together take at most `limit` bytes as
        UTF-8 JSON (as the homeserver counts them), so no event comes near Matrix's 64 KiB limit.
        A single longer line is cut."""
        plain, markup = self.plain.split("\n"), self.html.split("<br>")
        if len(plain) != len(markup):  # cannot happen for catalogue messages; be safe anyway
            plain, markup = [self.plain], [self.html]
        pieces: list[Message] = []
        lines: list[Message] = []
        size = 0
        for p, h in zip(plain, markup, strict=True):
            line = Message(_cut(p, limit // 2), _cut(h, limit // 2))
            grow = json_size(line.plain) + json_size(line.html) + 8  # the line break in both
            if lines and size + grow > limit:
                pieces.append(Message.join(lines))
                lines, size = [], 0
            lines.append(line)
            size += grow
        return [*pieces, Message.join(lines)]


def json_size(text: str) -> int:
    """How many bytes `text` takes in an event: UTF-8, with JSON's escapes."""
    return len(json.dumps(text, ensure_ascii=False).encode())


def _cut(text: str, budget: int) -> str:
    """`text`, shortened to at most `budget` bytes as UTF-8 JSON."""
    if json_size(text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if json_size(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _escape(value: str) -> str:
    return html.escape(value, quote=False).replace("\n", "<br>")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "count" not in value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@cache
def catalogue(language: str) -> dict[str, Any]:
    """All entries of one language, keyed by dotted name ("registration.confirmed")."""
    with open(_LOCALES / f"{language}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


def placeholders(template: str) -> set[str]:
    """The `{name}` placeholders a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def entry(key: str, language: str = DEFAULT_LANGUAGE) -> Any:
    """A raw catalogue entry (string or list), falling back to German."""
    entries = catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    if key in entries:
        return entries[key]
    return catalogue(DEFAULT_LANGUAGE)[key]


def forms(entry: Any) -> list[str]:
    """The texts of an entry: one, or (for a plural entry) the singular and the plural."""
    if isinstance(entry, dict):
        return [entry["one"], entry["other"]]
    return [entry] if isinstance(entry, str) else []


def _template(entry: Any, params: dict[str, Any]) -> str:
    """The text to fill in: a plural entry (`{ count = "minutes", one = "…", other = "…" }`)
    takes its singular when the named parameter is 1."""
    if isinstance(entry, dict):
        return str(entry["one"] if params.get(entry["count"]) == 1 else entry["other"])
    return str(entry)


def t(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> Message:
    """Render catalogue entry `key` with `params`; parameters may be strings or Messages."""
    template = _template(entry(key, language), params)
    plain_params = {k: v.plain if isinstance(v, Message) else str(v) for k, v in params.items()}
    html_params = {k: v.html if isinstance(v, Message) else _escape(str(v)) for k, v in params.items()}
    plain = _BOLD.sub(r"\1", template).format(**plain_params)
    markup = _BOLD.sub(r"<strong>\1</strong>", _escape(template)).format(**html_params)
    return Message(plain, markup)


def bilingual(key: str, **params: Any) -> str:
    """Plain text, German first and English second in one line: for the admin's terminal."""
    return f"{t(key, 'de', **params).plain} / {t(key, 'en', **params).plain}"
