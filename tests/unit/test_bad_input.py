"""Property-based tests: whatever people type, no exception escapes, every command gets an answer
(or is deliberately ignored), and user text never becomes markup."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import ROUTERS
from bot.arguments import parse_arguments
from bot.dispatch import Incoming
from bot.routing import CommandSet, parse_invocation
from rules.dates import DateError, parse_when
from rules.errors import UserError
from rules.i18n import Message, json_size, t
from rules.series import parse_series
from rules.series_dates import parse_dates
from rules.session_fields import parse_new, parse_values, split_fields
from rules.voice import Voice
from tests.unit.fakes import COORDINATOR, NOW, configured, dispatcher_for

BERLIN = ZoneInfo("Europe/Berlin")
NAMES = sorted({name for command in CommandSet(ROUTERS).commands for name in command.names})
# Text as people (and attackers) type it: markup, markdown, control characters, right-to-left, emoji.
NASTY = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "**fett**",
        "<a href='javascript:x'>x</a>",
        "\u202e",
        "\x00",
        "\x1b[31m",
        "مرحبا",
        "שלום",
        "👍✅",
        "#",
        "|",
        "Wann:",
        "\n",
        "> zitat",
        "&amp;",
        "Plätze: -1",
        "99999999999",
        "#0",
        "#1",
        "30",
        "morgen 14 Uhr",
        "https://example.org",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=30), NASTY), max_size=8).map(" ".join)
ALLOWED_TAGS = re.compile(r"</?(strong|br|a)( href=\"[^\"<>]*\")?>")


VOICE = Voice("de", "!", BERLIN, NOW)


@given(TEXT)
def test_parse_invocation_and_arguments_never_raise_but_explain(text):
    parse_invocation(text, "!")
    for command in CommandSet(ROUTERS).commands:
        try:
            parse_arguments(VOICE, command.name, command.args, text)
        except UserError as exc:
            assert t(exc.key, "de", prefix="!", **exc.params).plain


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_dates_either_parse_to_a_proper_range_or_explain(text):
    try:
        when = parse_when(text, NOW, BERLIN)
    except DateError:
        return
    assert when.start.tzinfo is not None and when.start > NOW
    assert when.end is None or when.end > when.start


SERIES_PIECES = st.sampled_from(
    [
        "donnerstags",
        "jeden Mo",
        "alle 3 Wochen",
        "14-tägig",
        "vom 1.12.",
        "bis 3.1.",
        "ab 5.12.",
        "4 Termine",
        "99x",
        "Do 3.12.,",
        "10.12.",
        "und",
        "2099",
        "14–16 Uhr",
        "25 Uhr",
        "2:30",
        "31.2.",
        "\nTeil 1: A",
        "Teil 9: B",
    ]
)
SERIES_TEXT = st.lists(st.one_of(SERIES_PIECES, NASTY, st.text(max_size=10)), max_size=10).map(" ".join)


@given(SERIES_TEXT)
@settings(max_examples=300, deadline=None)
def test_series_dates_either_parse_to_ordered_future_ranges_or_explain(text):
    try:
        dates = parse_dates(text, NOW, BERLIN)
    except DateError:
        return
    assert all(w.start > NOW and (w.end is None or w.end > w.start) for w in dates)
    assert [w.start for w in dates] == sorted({w.start for w in dates})


@given(SERIES_TEXT)
@settings(max_examples=300, deadline=None)
def test_series_either_parse_or_explain(text):
    with contextlib.suppress(UserError):
        parse_series(f"Reihe | {text}", NOW, BERLIN, None, timedelta(hours=1))


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_session_fields_either_parse_or_explain(text):
    with contextlib.suppress(UserError):
        parse_new(text, NOW, BERLIN, None, timedelta(hours=1))
    with contextlib.suppress(UserError):
        parse_values(split_fields(text), NOW, BERLIN, timedelta(hours=1))


@given(st.lists(st.one_of(st.text(max_size=40), NASTY), min_size=1, max_size=4))
def test_user_text_never_becomes_markup(values):
    message = t("sessions.line", "de", ref="#1", date=values[0], title=" ".join(values), places=values[-1])
    assert "<" not in ALLOWED_TAGS.sub("", message.html)


@given(st.integers(min_value=200, max_value=5000), st.lists(st.text(max_size=300), min_size=1, max_size=200))
def test_long_messages_are_split_into_whole_lines_by_bytes(limit, lines):
    message = Message.join([Message(line, line) for line in lines])
    pieces = message.split(limit)
    assert all(json_size(p.plain) + json_size(p.html) <= limit + 8 for p in pieces)
    if all(json_size(line) <= limit // 2 and "\n" not in line and "<br>" not in line for line in lines):
        assert "\n".join(p.plain for p in pieces) == message.plain


def test_emoji_count_by_their_bytes_so_no_event_exceeds_the_limit():
    """16,000 emoji are 64,000 bytes: one message of them would be refused by the homeserver."""
    message = Message.join([Message("👍" * 100, "👍" * 100) for _ in range(160)])
    pieces = message.split()
    assert len(pieces) > 1
    assert all(json_size(p.plain) + json_size(p.html) < 60 * 1024 for p in pieces)
    assert "".join(p.plain.replace("\n", "") for p in pieces) == "👍" * 16_000


class Harness:
    """One dispatcher with a session, driven from hypothesis' synchronous examples."""

    def __init__(self, tmp_path) -> None:
        self.loop = asyncio.new_event_loop()
        self.config, self.db = self.loop.run_until_complete(configured(tmp_path, COORDINATOR))
        self.dispatcher = dispatcher_for(self.config, self.db)
        self.outbox = self.dispatcher.outbox
        start = (NOW + timedelta(days=3)).astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
        self.run(f"!termin neu Test | {start} | Plätze: 2", COORDINATOR)

    def run(self, body: str, sender: str) -> list[dict]:
        self.count = getattr(self, "count", 0) + 1
        before = len(self.outbox.sent)
        message = Incoming(
            "!room:localhost",
            sender,
            f"$e{self.count}",
            body,
            None,
            sent_at=datetime(2000, 1, 1, tzinfo=UTC) + timedelta(minutes=self.count),
        )
        handled = self.loop.run_until_complete(self.dispatcher.handle(message, NOW))
        answers = [content for _, content, _ in self.outbox.sent[before:]]
        assert handled == (parse_invocation(body, "!") is not None)
        return answers

    def close(self) -> None:
        self.loop.run_until_complete(self.db.close())
        self.loop.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    h = Harness(tmp_path_factory.mktemp("bad-input"))
    yield h
    h.close()


@given(st.sampled_from(NAMES), TEXT, st.sampled_from([COORDINATOR, "@staff:localhost"]))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_command_with_any_arguments_gets_an_answer_and_never_an_internal_error(harness, name, args, sender):
    answers = harness.run(f"!{name} {args}", sender)
    assert answers, f"no answer to !{name} {args!r}"
    for content in answers:
        assert "Ref." not in content["body"], content["body"]
        if content.get("formatted_body"):
            assert "<" not in ALLOWED_TAGS.sub("", content["formatted_body"]), content["formatted_body"]


def test_a_64_kib_command_gets_a_short_answer(harness):
    answers = harness.run("!termin neu " + "Wärmeplanung " * 5000 + "| morgen 14 Uhr", COORDINATOR)
    assert len(answers) == 1 and "zu lang" in answers[0]["body"]
    assert len(harness.run("!" + "x" * 70_000, "@staff:localhost")[0]["body"]) < 1000
