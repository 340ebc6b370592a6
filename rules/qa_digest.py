"""Ranking questions and writing the digest of a Q&A round (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.i18n import Message
from rules.states import QuestionStatus
from rules.voice import Voice

MAX_QUESTION = 2000  # characters of a question, however it is asked
# The digest's sections: answered questions first, then those left open (hidden ones not at all).
SECTIONS = ((QuestionStatus.ANSWERED, "qa.digest_answered"), (QuestionStatus.OPEN, "qa.digest_open"))


@dataclass(frozen=True)
class Entry:
    """A question as the ranking sees it: who asked is already resolved to a shown name."""

    number: int
    text: str
    votes: int
    status: QuestionStatus
    asker: str


def ranked(entries: list[Entry], status: QuestionStatus) -> list[Entry]:
    """Questions with `status`, most votes first, earlier questions first among equals."""
    return sorted((e for e in entries if e.status == status), key=lambda e: (-e.votes, e.number))


def line(voice: Voice, entry: Entry) -> Message:
    return voice.t("qa.line", number=entry.number, votes=entry.votes, text=entry.text, asker=entry.asker)


def ranking(voice: Voice, entries: list[Entry]) -> Message:
    """The open questions by votes, for moderators during the round."""
    open_ = ranked(entries, QuestionStatus.OPEN)
    answered = ranked(entries, QuestionStatus.ANSWERED)
    lines = [voice.t("qa.ranking_head", open=len(open_), answered=len(answered))]
    lines += [line(voice, e) for e in open_] or [voice.t("qa.ranking_none")]
    return Message.join(lines)


def digest(voice: Voice, ref: str, title: str, entries: list[Entry]) -> tuple[Message, str]:
    """The closing digest, as a message and as Markdown: answered and open questions, each ranked
    by votes (hidden ones left out)."""
    head = voice.t("qa.digest_head", ref=ref, title=title, date=voice.short(voice.now))
    lines, md = [head], [f"# {escape_markdown(head.plain)}"]
    for status, key in SECTIONS:
        group = ranked(entries, status)
        section = voice.t(key, count=len(group))
        lines.append(section)
        md += ["", f"## {escape_markdown(section.plain)}", ""]
        for entry in group:
            lines.append(line(voice, entry))
            md.append(f"- {escape_markdown(line(voice, entry).plain)}")
        if not group:
            empty = voice.t("qa.digest_empty")
            lines.append(empty)
            md.append(f"*{escape_markdown(empty.plain)}*")
    return Message.join(lines), "\n".join(md) + "\n"


def escape_markdown(text: str) -> str:
    """User text as literal Markdown: no headings, links, emphasis or HTML of its own."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-!|])", r"\\\1", " ".join(text.split()))
