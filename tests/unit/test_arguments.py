"""Declared arguments: parsing from the front, usage lines from the catalogue, clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.arguments import Choice, Flag, Link, Number, Rest, SessionRef, parse_arguments, usage_line
from rules.errors import UserError
from rules.voice import Voice

DE = Voice("de", "!", ZoneInfo("Europe/Berlin"), datetime(2026, 11, 22, tzinfo=UTC))
EN = Voice("en", "!", ZoneInfo("Europe/Berlin"), datetime(2026, 11, 22, tzinfo=UTC))
ASK = [
    Flag("anonymous", "args.anonymous", words=("anonym", "anonymous")),
    SessionRef(),
    Rest("text", "args.question", missing="qa.text_missing", maximum=20, too_long="qa.too_long"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#3 Wie lange?", {"anonymous": False, "number": 3, "text": "Wie lange?"}),
        ("anonym 3 Wie\nlange?", {"anonymous": True, "number": 3, "text": "Wie\nlange?"}),
        ("  ANONYM   #12   x ", {"anonymous": True, "number": 12, "text": "x"}),
    ],
)
def test_values_come_typed_and_by_name(text, expected):
    assert parse_arguments(DE, "frage", ASK, text) == expected


def test_usage_is_generated_from_the_declaration_in_each_language():
    assert usage_line(DE, "frage", ASK) == "!frage [anonym] #N Ihre Frage"
    assert usage_line(EN, "frage", ASK) == "!frage [anonymous] #N your question"
    assert (
        usage_line(DE, "material", [SessionRef(), Link("url"), Rest("title", "args.title", required=False)])
        == "!material #N https://… [Titel]"
    )


def test_a_missing_argument_is_refused_with_its_usage_line():
    with pytest.raises(UserError) as missing_ref:
        parse_arguments(DE, "frage", ASK, "anonym Wie lange?")
    assert missing_ref.value.key == "errors.missing_ref"
    assert missing_ref.value.params == {"usage": "!frage [anonym] #N Ihre Frage"}
    with pytest.raises(UserError) as missing_text:
        parse_arguments(DE, "frage", ASK, "#3")
    assert missing_text.value.key == "qa.text_missing"
    with pytest.raises(UserError) as missing_number:
        parse_arguments(DE, "beantwortet", [Number("question")], "drei")
    assert missing_number.value.key == "errors.usage"
    assert missing_number.value.params == {"usage": "!beantwortet Nr"}


def test_too_long_text_bad_choices_and_bad_links_are_explained():
    with pytest.raises(UserError) as too_long:
        parse_arguments(DE, "frage", ASK, "#3 " + "x" * 21)
    assert too_long.value.key == "qa.too_long" and too_long.value.params == {"maximum": 20}
    switch = [
        Choice(
            "choice",
            "args.switch",
            required=False,
            choices={"an": True, "aus": False},
            invalid="registration.reminders_usage",
        )
    ]
    assert parse_arguments(DE, "erinnerung", switch, "") == {"choice": None}
    assert parse_arguments(DE, "erinnerung", switch, "AUS") == {"choice": False}
    with pytest.raises(UserError) as bad_choice:
        parse_arguments(DE, "erinnerung", switch, "vielleicht")
    assert bad_choice.value.key == "registration.reminders_usage"
    with pytest.raises(UserError) as bad_link:
        parse_arguments(DE, "protokoll", [SessionRef(), Link("url")], "#3 javascript:alert(1)")
    assert bad_link.value.key == "fields.bad_link"


def test_an_optional_session_reference_leaves_the_rest_alone():
    register = [SessionRef(required=False), Rest("municipality", "args.municipality", required=False)]
    assert parse_arguments(DE, "anmelden", register, "Stadt Bielefeld") == {
        "number": None,
        "municipality": "Stadt Bielefeld",
    }
    assert parse_arguments(DE, "anmelden", register, "#2") == {"number": 2, "municipality": ""}
