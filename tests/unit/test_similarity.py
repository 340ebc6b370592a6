"""The look-alike hint for topic wishes: the similarity measure pinned down, and `!thema`'s forms."""

from __future__ import annotations

import pytest

from rules.errors import UserError
from rules.similarity import ALIKE, Candidate, fold, look_alikes, similarity, stems
from rules.topics import Act, Proposal, TopicAction, parse_topic


def test_folding_and_stems_make_inflected_german_forms_meet():
    assert fold("Fördermittel für Straßen") == "foerdermittel fuer strassen"
    assert stems("Mobiles Arbeiten in der Verwaltung") == ["mobil", "arbeit", "verwaltung"]
    assert stems("mobile Arbeit") == ["mobil", "arbeit"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mobiles Arbeiten", "Mobile Arbeit"),  # inflection
        ("Mobiles Arbeiten", "mobiles arbeiten in der Verwaltung"),  # more words, other case
        ("Fördermittelberatung", "Beratung zu Fördermitteln"),  # a compound against its parts
        ("Kommunale Wärmeplanung", "Wärmeplanung"),
        ("Regionaler Personalpool", "Personalpool für die Region"),
        ("Starkregenvorsorge", "Starkregen"),
        ("Gemeinsame Beschaffung", "Interkommunale Beschaffung"),
    ],
)
def test_these_look_alike(a, b):
    assert similarity(a, b) >= ALIKE
    assert similarity(b, a) == similarity(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mobiles Arbeiten", "Gemeinsame Beschaffung"),
        ("Vergaberecht", "Kommunale Wärmeplanung"),
        ("Mobiles Arbeiten", "Mobilität im ländlichen Raum"),
        ("Starkregen", "Stadtregal"),
        ("Digitalisierung", "Digitale Bauakte"),
    ],
)
def test_these_do_not(a, b):
    assert similarity(a, b) < ALIKE


def test_function_words_alone_never_match():
    assert similarity("der die das", "und für in") == 0.0
    assert similarity("", "Mobiles Arbeiten") == 0.0


def test_look_alikes_are_the_closest_first_at_most_three():
    candidates = [
        Candidate(1, "Gemeinsame Beschaffung"),
        Candidate(2, "Mobiles Arbeiten in der Verwaltung"),
        Candidate(3, "Mobile Arbeit"),
        Candidate(4, "Mobiles Arbeiten: Dienstvereinbarung"),
        Candidate(5, "Mobiles Arbeiten im Bauamt"),
    ]
    found = look_alikes("Mobiles Arbeiten", candidates)
    assert [c.number for c in found] == [3, 2, 4]
    assert look_alikes("Kommunale Wärmeplanung", candidates) == []


def test_the_forms_of_thema():
    assert parse_topic("Mobiles Arbeiten | Erfahrungen") == Proposal("Mobiles Arbeiten", "Erfahrungen", False)
    assert parse_topic("  Mobiles   Arbeiten ") == Proposal("Mobiles Arbeiten", None, False)
    assert parse_topic("trotzdem Mobile Arbeit") == Proposal("Mobile Arbeit", None, True)
    assert parse_topic("T3") == Act(3, TopicAction.SHOW, "")
    assert parse_topic("t3 referieren") == Act(3, TopicAction.OFFER, "")
    assert parse_topic("T3 planen | Do 10.12. 14 Uhr | Plätze: 30") == Act(
        3, TopicAction.PLAN, "Do 10.12. 14 Uhr | Plätze: 30"
    )
    assert parse_topic("T3 planen|Do 10.12. 14 Uhr") == Act(3, TopicAction.PLAN, "Do 10.12. 14 Uhr")
    assert parse_topic("T12 schließen doppelt zu T3") == Act(12, TopicAction.CLOSE, "doppelt zu T3")
    # A title that merely starts with T and a digit-free word is a proposal.
    assert isinstance(parse_topic("Tourismus und Kommunen"), Proposal)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("T3 löschen", "topics.unknown_action"),
        ("| nur Beschreibung", "topics.title_missing"),
        ("x" * 201, "topics.title_too_long"),
    ],
)
def test_what_thema_refuses(text, key):
    with pytest.raises(UserError) as refused:
        parse_topic(text)
    assert refused.value.key == key
