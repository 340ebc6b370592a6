"""Typed command arguments, declared on the command's decorator and parsed by the dispatcher.

Each argument takes its value from the front of what is left of the command's text and hands
the rest on. The usage line (`!frage [anonym] #N Frage`) is generated from the declarations and
the catalogue's `args.*` labels, so no user-facing text lives in code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules.board import parse_ref
from rules.cleaning import clean
from rules.errors import UserError
from rules.session_fields import parse_link
from rules.voice import Voice

_NUMBER = re.compile(r"^#?(\d{1,9})\b\s*(.*)$", re.DOTALL)
_SERIES = re.compile(r"^(?:reihe|series)\s*(\d{1,9})\b\s*(.*)$", re.DOTALL | re.IGNORECASE)


def _first_word(text: str) -> tuple[str, str]:
    """('anonym', 'rest of it') from 'anonym rest of it'; ('', '') from ''."""
    parts = text.split(None, 1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else ((parts[0], "") if parts else ("", ""))


class Missing(Exception):
    """A required argument is not there."""


@dataclass(frozen=True)
class Arg:
    """One declared argument: the handler's keyword `name`, its catalogue label, and whether it may
    be left out. `missing` names the catalogue entry that explains a left-out required argument
    (it gets the command's usage line as `{usage}`)."""

    name: str
    label: str
    required: bool = True
    missing: str = "errors.usage"

    def take(self, text: str) -> tuple[Any, str]:
        """(value, rest) from the front of `text`; None when absent and optional."""
        raise NotImplementedError

    def usage(self, voice: Voice) -> str:
        label = voice.t(self.label).plain
        return label if self.required else f"[{label}]"


@dataclass(frozen=True)
class Number(Arg):
    """A whole number (a question's number, say)."""

    label: str = "args.number"

    def take(self, text: str) -> tuple[int | None, str]:
        match = _NUMBER.match(text)
        if not match:
            if self.required:
                raise Missing
            return None, text
        return int(match.group(1)), match.group(2).strip()


@dataclass(frozen=True)
class SessionRef(Number):
    """A session's number, `#3` or `3`."""

    name: str = "number"
    label: str = "args.session"
    missing: str = "errors.missing_ref"


@dataclass(frozen=True)
class Target:
    """What a command is about: one session (`#3`) or every part of a series (`Reihe 2`)."""

    number: int
    series: bool = False


@dataclass(frozen=True)
class SessionOrSeries(Arg):
    """A session's number (`#3`, `3`) or a series (`Reihe 2`)."""

    name: str = "target"
    label: str = "args.session_or_series"
    missing: str = "errors.missing_ref"

    def take(self, text: str) -> tuple[Target | None, str]:
        if match := _SERIES.match(text):
            return Target(int(match.group(1)), series=True), match.group(2).strip()
        number, rest = SessionRef(required=self.required).take(text)
        return (None if number is None else Target(number)), rest


@dataclass(frozen=True)
class EntryRef(Arg):
    """A board entry's number, `A12` (or `12`)."""

    name: str = "number"
    label: str = "args.entry"
    missing: str = "board.missing_ref"

    def take(self, text: str) -> tuple[int | None, str]:
        head, rest = _first_word(text)
        number = parse_ref(head) if head else None
        if number is None:
            if self.required:
                raise Missing
            return None, text
        return number, rest


@dataclass(frozen=True)
class Flag(Arg):
    """A word that switches something on when it comes first (`anonym`); never required."""

    words: tuple[str, ...] = ()
    required: bool = False

    def take(self, text: str) -> tuple[bool, str]:
        head, rest = _first_word(text)
        if head.lower() in self.words:
            return True, rest
        return False, text

    def usage(self, voice: Voice) -> str:
        return f"[{voice.t(self.label).plain}]"


@dataclass(frozen=True)
class Choice(Arg):
    """One of a few words, each standing for a value (`an` → True); others are refused with
    `invalid` (a catalogue key)."""

    choices: Mapping[str, Any] = field(default_factory=dict)
    invalid: str = "errors.usage"

    def take(self, text: str) -> tuple[Any, str]:
        head, rest = _first_word(text)
        if not head:
            if self.required:
                raise Missing
            return None, text
        if head.lower() not in self.choices:
            raise UserError(self.invalid)
        return self.choices[head.lower()], rest


@dataclass(frozen=True)
class Link(Arg):
    """A web link (checked: http or https with a host)."""

    label: str = "args.link"

    def take(self, text: str) -> tuple[str | None, str]:
        head, rest = _first_word(text)
        if not head:
            if self.required:
                raise Missing
            return None, text
        return parse_link(head), rest


@dataclass(frozen=True)
class Rest(Arg):
    """All the text that is left (line breaks kept), at most `maximum` characters; `too_long`
    names the catalogue entry for longer text (it gets `{maximum}`)."""

    maximum: int | None = None
    too_long: str = "errors.too_long"

    def take(self, text: str) -> tuple[str, str]:
        value = text.strip()
        if not value and self.required:
            raise Missing
        if self.maximum is not None and len(value) > self.maximum:
            raise UserError(self.too_long, maximum=self.maximum)
        return value, ""


def usage_line(voice: Voice, command_name: str, args: Sequence[Arg]) -> str:
    """`!name <arguments>` as declared, optional ones in brackets."""
    return " ".join([f"{voice.prefix}{command_name}", *(a.usage(voice) for a in args)])


def parse_arguments(voice: Voice, command_name: str, args: Sequence[Arg], text: str) -> dict[str, Any]:
    """The declared arguments' values by name; a missing one is refused with the usage line.
    Invisible and bidirectional control characters are taken out first (`rules.cleaning`), so
    nothing people type reaches a handler with them."""
    values: dict[str, Any] = {}
    rest = clean(text).strip()
    for arg in args:
        try:
            values[arg.name], rest = arg.take(rest)
        except Missing:
            raise UserError(arg.missing, usage=usage_line(voice, command_name, args)) from None
    return values
