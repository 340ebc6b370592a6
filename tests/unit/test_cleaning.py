"""Bidirectional and zero-width characters taken out of everything people type (rules/cleaning.py),
on its own, in the argument parser, in session fields, and through the dispatcher; display names
on one line that pass neither for an anonymous asker nor for someone else's id."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.arguments import Link, Rest, SessionRef, parse_arguments
from bot.dispatch import Incoming
from rules.cleaning import MAX_NAME, clean, invisible, one_line, person_name
from rules.errors import UserError
from rules.session_fields import parse_link, parse_new
from rules.voice import Voice
from storage import registrations, sessions
from tests.unit.fakes import COORDINATOR, NOW

RLO, PDF, LRM, RLM, ZWSP, ZWNJ, ZWJ, BOM = (
    "\u202e",
    "\u202c",
    "\u200e",
    "\u200f",
    "\u200b",
    "\u200c",
    "\u200d",
    "\ufeff",
)
BERLIN = ZoneInfo("Europe/Berlin")
# What a right-to-left override makes of a link: it shows as https://stadt.example/exe.pdf
SPOOFED = f"https://stadt.example/{RLO}fdp.exe"
ROOM = "!room:localhost"


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        (SPOOFED, "https://stadt.example/fdp.exe"),
        (f"Kommunale{ZWSP} Wärme{ZWNJ}planung", "Kommunale Wärmeplanung"),
        (f"{BOM}Stadt {LRM}Bielefeld{RLM}", "Stadt Bielefeld"),
        ("a\u202ab\u202bc\u202cd\u202de\u202ef", "abcdef"),  # embeddings and overrides
        ("a\u2066b\u2067c\u2068d\u2069e\u2060f", "abcdef"),  # isolates and the word joiner
        ("Dorf\u00adstraße \u061cx \u180ey \ufff9z\ufffb", "Dorfstraße x y z"),  # soft hyphen, Arabic mark …
        ("Null\x00 Glocke\x07 Escape\x1b[31m \x7f\x85", "Null Glocke Escape[31m "),  # control characters
        (f"ev{ZWJ}il", "evil"),  # a joiner between ASCII letters does nothing visible
        ("Hallo\U000e0068\U000e0069", "Hallo"),  # hidden text in tag characters
        ("Zeile 1\nZeile 2\tTab", "Zeile 1\nZeile 2\tTab"),  # line breaks and tabs stay
    ],
)
def test_invisible_and_bidirectional_characters_are_removed(typed, shown):
    assert clean(typed) == shown
    assert not any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in clean(typed))


@pytest.mark.parametrize(
    "kept",
    [
        "👩‍💻 Digitalisierung",  # woman technologist: ZWJ sequence
        "👨‍👩‍👧 Familie",
        "❤️ danke",  # U+FE0F variation selector
        "👍🏽",  # skin tone
        "🏳️‍🌈",  # rainbow flag: FE0F and ZWJ
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # flag of Scotland: tags
        "مرحبا بالعالم",  # right-to-left script itself stays, only the controls go
        "Gütersloh – Straße „Am Markt“",
        "क्‍ष",  # Devanagari with a joiner between letters
    ],
)
def test_what_emoji_and_scripts_need_stays(kept):
    assert clean(kept) == kept


def test_links_with_invisible_characters_are_refused_after_cleaning():
    assert parse_link(clean(SPOOFED)) == "https://stadt.example/fdp.exe"
    for link in (SPOOFED, f"https://stadt{ZWJ}.example/", f"https://{ZWSP}stadt.example/"):
        assert invisible(link)
        with pytest.raises(UserError):
            parse_link(link)


def test_arguments_are_cleaned_before_they_are_parsed():
    voice = Voice("de", "!", BERLIN, datetime(2026, 11, 22, tzinfo=BERLIN))
    args = [SessionRef(), Link("url"), Rest("title", "args.title", required=False)]
    values = parse_arguments(voice, "material", args, f"#{ZWSP}3 {SPOOFED} Folien{RLO} {ZWSP}Teil 2")
    assert values == {"number": 3, "url": "https://stadt.example/fdp.exe", "title": "Folien Teil 2"}


def test_session_fields_are_cleaned_in_both_forms():
    pipe = parse_new(
        f"{RLO}Wärmeplanung{PDF} | Do 10.12. 14 Uhr | Link: {SPOOFED} | Referent: Stadt{ZWSP} Gütersloh",
        NOW,
        BERLIN,
        None,
        timedelta(hours=1),
    )
    assert pipe["title"] == "Wärmeplanung" and pipe["link"] == "https://stadt.example/fdp.exe"
    assert pipe["speaker"] == "Stadt Gütersloh"
    lines = parse_new(
        f"Titel: {ZWSP}\nWann: Do 10.12. 14 Uhr".replace(f"{ZWSP}\n", f"Fördermittel{LRM}\n"),
        NOW,
        BERLIN,
        None,
        timedelta(hours=1),
    )
    assert lines["title"] == "Fördermittel"
    with pytest.raises(UserError):  # a title of invisible characters only is no title
        parse_new(f"Titel: {ZWSP}{RLO}\nWann: Do 10.12. 14 Uhr", NOW, BERLIN, None, timedelta(hours=1))


def strings(value: object) -> list[str]:
    """Every string inside an event's content."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


async def test_the_right_to_left_override_attack_on_a_link_is_defused_end_to_end(bot):
    dispatcher, outbox = bot
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    command = f"!termin neu Schulung{ZWSP} | {start} | Link: {SPOOFED}"
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$new", command), NOW)
    await dispatcher.handle(Incoming(ROOM, "@bernd:localhost", "$reg", f"!anmelden #1 Kreis{RLO} Lippe"), NOW)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$show", "!termin #1"), NOW)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$cancel", f"!termin absagen #1 Krank{RLO}heit"), NOW)
    async with dispatcher.db.transaction() as s:
        session = await sessions.get_session(s, 1)
        registration = await registrations.registration(s, 1, "@bernd:localhost")
    assert session.title == "Schulung" and session.link == "https://stadt.example/fdp.exe"
    assert session.cancel_reason == "Krankheit" and registration.municipality == "Kreis Lippe"
    shown = [text for _, content, _ in outbox.sent for text in strings(content)]
    assert any("https://stadt.example/fdp.exe" in text for text in shown)
    assert not any(invisible(text.replace("\n", "")) for text in shown)


EVE = "@eve:localhost"


@pytest.mark.parametrize(
    ("display", "shown"),
    [
        ("Eva Schulz", "Eva Schulz"),
        (None, EVE),
        ("", EVE),
        (f"{ZWSP}{RLO}", EVE),  # invisible only: no name
        (EVE, EVE),
        ("Eva\nNr. 9 · 99 👍 · Gefälschte Frage – Anna", "Eva Nr. 9 · 99 👍 · Gefälschte Frage – Anna"),
        ("Eva\r\n\u2028Schulz\tKreis", "Eva Schulz Kreis"),
        ("anonym", f"anonym ({EVE})"),
        ("Anonymous", f"Anonymous ({EVE})"),
        (" (anonym) ", f"(anonym) ({EVE})"),
        ("a n o n y m", f"a n o n y m ({EVE})"),
        ("\u0430n\u043enym", f"\u0430n\u043enym ({EVE})"),  # Cyrillic а and о
        ("ánönym", f"ánönym ({EVE})"),
        ("anonyrn", f"anonyrn ({EVE})"),  # r and n pass for m
        ("Anna (@coord:localhost)", f"Anna ({EVE})"),
        ("Anna [@coord:localhost]", f"Anna ({EVE})"),
        ("Anna ＠coord:localhost", f"Anna ({EVE})"),  # the full-width at sign
        ("(@coord:localhost)", EVE),
    ],
)
def test_a_display_name_is_one_line_and_passes_for_nobody_else(display, shown):
    assert person_name(display, EVE) == shown
    assert "\n" not in person_name(display, EVE, with_id=True)


def test_a_name_with_its_id_and_a_long_name():
    assert person_name("Eva Schulz", EVE, with_id=True) == f"Eva Schulz ({EVE})"
    assert person_name(None, EVE, with_id=True) == EVE
    long = person_name("Sehr " * 40, EVE)
    assert len(long) == MAX_NAME and long.endswith("…")
    assert one_line(f" a\n\n b{ZWSP}c\t d ") == "a bc d"


async def test_forged_names_show_with_the_real_id_in_rankings_and_talk_offers(bot):
    dispatcher, outbox = bot
    names = {
        EVE: "anonym",
        "@mallory:localhost": f"Mallory (@bernd:localhost)\n🎤 {COORDINATOR} könnte zum Themenwunsch T1",
    }
    outbox.display_name = lambda room_id, user_id: names.get(user_id)
    start = (NOW + timedelta(days=1)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$new", f"!termin neu Vergabe | {start}"), NOW)
    await dispatcher.handle(Incoming(ROOM, EVE, "$q1", "!frage #1 Wer hat gefragt?"), NOW)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$start", "!fragerunde start #1"), NOW)
    await dispatcher.handle(Incoming(ROOM, COORDINATOR, "$list", "!fragen #1"), NOW)
    posted = [body for body in outbox.bodies() if body.startswith("Frage 1")]
    assert posted == [f"Frage 1 (anonym ({EVE})): Wer hat gefragt?"]
    assert outbox.bodies()[-1].endswith(f"Wer hat gefragt? – anonym ({EVE})")

    await dispatcher.handle(Incoming(ROOM, "@mallory:localhost", "$t1", "!thema Vergabe in der Praxis"), NOW)
    await dispatcher.handle(Incoming(ROOM, "@mallory:localhost", "$o1", "!thema T1 referieren"), NOW)
    offered = [body for room, c, _ in outbox.sent if room == f"!dm-{COORDINATOR}" for body in [c["body"]]]
    assert len(offered) == 1 and "\n" not in offered[0]
    assert offered[0].startswith("🎤 Mallory 🎤 könnte zum Themenwunsch T1 (@mallory:localhost) könnte zum")
