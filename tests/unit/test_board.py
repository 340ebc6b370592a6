"""The cooperation board: German word forms and compounds (pure and in both databases' full-text
search), categories, matching, expiry as functions of `now`, and the commands on a real database."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import FEATURES
from bot.config import ConfigError, parse_config
from bot.dispatch import Incoming
from bot.scheduler import Scheduler
from rules.board import (
    DEFAULT_CATEGORIES,
    MAX_CANDIDATES,
    MAX_DESCRIPTION,
    EntryKind,
    EntryState,
    change_state,
    expires_at,
    expiry_due,
    is_active,
    match_category,
    matches,
    parse_draft,
    renewal_due,
    renewal_reminder_due,
)
from rules.errors import UserError
from rules.search import MAX_KEY_WORDS, affinity, key_heads, prefixes, query, similarity, stem, weighted_stems
from services.board import SHOW
from storage import board, planned, purge
from storage.db import Database
from storage.models import BoardEntry
from tests.postgres import on_both_databases
from tests.unit.fakes import COORDINATOR, NOW, configured, dispatcher_for

ROOM = "!room:localhost"  # official (both regions): the board room once chosen
BERND, CLARA, DORA = "@bernd:localhost", "@clara:localhost", "@dora:localhost"
DAY = timedelta(days=1)


# --- German word forms (pure) -------------------------------------------------------------------


def test_word_forms_share_a_stem_and_compounds_their_first_part():
    assert stem("vergabeverfahren") == stem("vergabeverfahrens") == "vergabeverfahr"
    assert stem("förderprogramme") == stem("förderprogramm")  # umlauts folded like PostgreSQL's `german`
    searched = query("die Vergabestelle")  # "die" says nothing
    assert [w.word for w in searched] == ["vergabestelle"]
    assert "vergab" in searched[0].prefixes and "verga" not in searched[0].prefixes
    assert any(stem("vergabeverfahren").startswith(p) for p in searched[0].prefixes)
    assert prefixes("ozg") == ("ozg",)  # a short word is searched as it is


def test_similarity_counts_shared_compound_parts():
    need = weighted_stems("Vergabestelle gesucht", "Wer übernimmt Ausschreibungen für uns?")
    offer = weighted_stems("Zentrale Vergabeverfahren", "Unsere Vergabestelle übernimmt Ausschreibungen")
    staff = weighted_stems("Personal für den Bauhof", "Mitarbeitende für den Winterdienst")
    assert similarity(need, offer) > 0.3 > similarity(need, staff) == 0.0


def test_similarity_takes_every_stems_best_affinity_without_comparing_every_pair():
    """The same score as comparing each stem with every stem of the other text."""

    def every_pair(first: dict[str, float], second: dict[str, float]) -> float:
        found = sum(w * max((affinity(s, o) for o in second), default=0.0) for s, w in first.items())
        found += sum(w * max((affinity(s, o) for o in first), default=0.0) for s, w in second.items())
        return found / (sum(first.values()) + sum(second.values()) or 1)

    pick = random.Random(24)
    for _ in range(500):
        texts = [
            {
                "".join(pick.choice("abc") for _ in range(pick.randint(1, 16))): pick.choice((1.0, 2.0))
                for _ in range(20)
            }
            for _ in range(2)
        ]
        assert similarity(*texts) == pytest.approx(every_pair(*texts))


def test_an_entry_is_looked_up_by_a_few_words():
    heads = key_heads("Zentrale Vergabestelle", " ".join(f"Wort{n}ende" for n in range(300)))
    assert heads[:2] == ["zentra", "vergab"] and len(heads) == MAX_KEY_WORDS  # the title's words first
    assert key_heads("Die OZG-Umsetzung", None) == ["ozg", "umsetz"]  # short stems whole


# --- Entries, categories, states (pure) ---------------------------------------------------------


def test_the_entry_form_and_its_mistakes():
    draft = parse_draft("Vergabe:  Zentrale Vergabestelle | Wir übernehmen Ausschreibungen ")
    assert (draft.category, draft.title, draft.description) == (
        "Vergabe",
        "Zentrale Vergabestelle",
        "Wir übernehmen Ausschreibungen",
    )
    assert parse_draft("Personal: Bauhof-Pool").description is None
    for wrong in ("Vergabe Zentrale Vergabestelle", ": Titel", "Vergabe: | nur Text", "x: " + "T" * 201):
        with pytest.raises(UserError):
            parse_draft(wrong)


@pytest.mark.parametrize(
    ("typed", "category"),
    [
        ("Vergabe und Beschaffung", "Vergabe und Beschaffung"),
        ("vergabe", "Vergabe und Beschaffung"),
        ("OZG", "Digitalisierung/OZG"),
        ("Fördermitel", "Fördermittel"),
        ("foerdermittel", "Fördermittel"),
        ("Fordermittel", "Fördermittel"),
        ("klimaschutz und waermeplanung", "Klimaschutz und Wärmeplanung"),
        ("Klimaschutz und Wärmeplanug", "Klimaschutz und Wärmeplanung"),
        ("wärmeplanung", "Klimaschutz und Wärmeplanung"),
        ("Vergabestelle", None),  # a word of a title, no category
        ("Sport", None),
    ],
)
def test_categories_are_matched_forgivingly(typed, category):
    assert match_category(typed, DEFAULT_CATEGORIES) == category


def test_only_open_entries_change_and_closed_ones_stay_closed():
    assert change_state(EntryState.OPEN, EntryState.DONE) == EntryState.DONE
    assert change_state(EntryState.TALKING, EntryState.AGREED) == EntryState.AGREED
    for final in (EntryState.DONE, EntryState.WITHDRAWN, EntryState.EXPIRED):
        with pytest.raises(UserError):
            change_state(final, EntryState.OPEN)
    with pytest.raises(UserError):
        change_state(EntryState.OPEN, EntryState.OPEN)


# --- Expiry as functions of now ----------------------------------------------------------------


def test_expiry_and_the_reminder_to_renew_follow_now():
    ends = expires_at(NOW, timedelta(days=90))
    assert ends == NOW + 90 * DAY
    assert renewal_due(ends, 14 * DAY, NOW) == NOW + 76 * DAY
    assert renewal_due(NOW + 3 * DAY, 14 * DAY, NOW) == NOW  # shorter than the notice: at once
    assert is_active("open", ends, ends - DAY) and not is_active("open", ends, ends)
    assert not is_active("done", ends, NOW)
    assert renewal_reminder_due("talking", ends, ends - 14 * DAY)
    assert not renewal_reminder_due("withdrawn", ends, ends - 14 * DAY)
    assert not renewal_reminder_due("open", ends, ends + DAY)  # too late to renew in time
    assert not expiry_due("open", ends, ends - timedelta(seconds=1))
    assert expiry_due("agreed", ends, ends) and not expiry_due("done", ends, ends)


@dataclass
class View:
    id: int
    kind: str
    category: str
    title: str
    description: str | None
    author: str
    state: str = "open"
    municipality: str | None = "Verl"
    expires_at: datetime = NOW + 90 * DAY


def test_a_new_offer_matches_open_needs_of_its_category_alike_in_text():
    offer = View(9, "offer", "Vergabe und Beschaffung", "Zentrale Vergabestelle", "Ausschreibungen für alle", BERND)
    needs = [
        View(1, "need", "Vergabe und Beschaffung", "Vergabeverfahren auslagern", None, CLARA),
        View(2, "need", "Personal", "Vergabestelle", None, CLARA),  # another category
        View(3, "need", "Vergabe und Beschaffung", "Bauhof-Pool", "Winterdienst", DORA),  # not alike
        View(4, "need", "Vergabe und Beschaffung", "Vergabestelle", None, BERND),  # the author's own
        View(5, "need", "Vergabe und Beschaffung", "Vergabestelle", None, DORA, state="done"),
        View(6, "need", "Vergabe und Beschaffung", "Vergabestelle", None, DORA, expires_at=NOW),  # expired
        View(7, "offer", "Vergabe und Beschaffung", "Vergabestelle", None, DORA),  # an offer too
        View(8, "need", "Vergabe und Beschaffung", "Vergabestelle für Ausschreibungen", None, DORA),
    ]
    found = matches(offer, needs, NOW)
    assert [m.entry.id for m in found] == [8, 1]
    assert found[0].score > found[1].score


def test_matching_reads_an_entry_as_far_as_its_card_shows():
    offer = View(9, "offer", "Vergabe und Beschaffung", "Vergabestelle", None, BERND)
    late = View(
        1,
        "need",
        "Vergabe und Beschaffung",
        "Bauhof",
        "Winterdienst " * (MAX_DESCRIPTION // 13 + 1) + "Vergabestelle",  # beyond the card
        CLARA,
    )
    early = View(2, "need", "Vergabe und Beschaffung", "Bauhof", "Vergabestelle " + "Winterdienst " * 200, CLARA)
    assert [m.entry.id for m in matches(offer, [late, early], NOW)] == [2]


# --- Full-text search in the database ------------------------------------------------------------


async def add(db: Database, title: str, description: str | None = None, **fields) -> BoardEntry:
    values = {
        "kind": EntryKind.OFFER,
        "category": "Vergabe und Beschaffung",
        "municipality": "Verl",
        "author": BERND,
        "state": EntryState.OPEN,
        "created_at": NOW,
        "updated_at": NOW,
        "expires_at": NOW + 90 * DAY,
        **fields,
    }
    async with db.transaction() as s:
        return await board.add_entry(s, BoardEntry(title=title, description=description, **values))


async def titles(db: Database, words: str) -> list[str]:
    async with db.transaction() as s:
        return [e.title for e in await board.search(s, words, NOW, 10)]


@on_both_databases
async def test_search_understands_german_word_forms_and_compounds(migrated):
    db = migrated
    await add(db, "Vergabeverfahren für Nachbarkommunen", "Wir führen Ausschreibungen durch")
    await add(db, "Förderprogramme für den Klimaschutz", "Beratung zu Fördermitteln des Landes")
    await add(db, "Bauhof-Pool", "Personal für den Winterdienst; Fragen zur Vergabe bitte an uns")
    await add(db, "Vergabestelle", "längst erledigt", state=EntryState.DONE)
    await add(db, "Vergabestelle", "abgelaufen", expires_at=NOW - DAY)
    # A need for a "Vergabestelle" finds the offer about "Vergabeverfahren" first (the title counts
    # more), the mere mention of "Vergabe" after it; closed and expired entries never.
    assert await titles(db, "Vergabestelle") == ["Vergabeverfahren für Nachbarkommunen", "Bauhof-Pool"]
    assert await titles(db, "Förderprogramm") == ["Förderprogramme für den Klimaschutz"]
    assert await titles(db, "fördermittel klimaschutzes") == ["Förderprogramme für den Klimaschutz"]
    assert await titles(db, "Ausschreibung") == ["Vergabeverfahren für Nachbarkommunen"]
    assert await titles(db, "Vergabe Winterdienst") == ["Bauhof-Pool"]  # every word must be found
    assert await titles(db, "Straßenbeleuchtung") == []
    assert await titles(db, "\" OR * ( :* & | ') --") == []  # query syntax is never passed through
    assert await titles(db, "x1y2 ǆungla 2027 NEAR AND Ärger") == []


@on_both_databases
async def test_a_new_entry_is_compared_with_a_bounded_few_found_by_the_index(migrated):
    db = migrated
    for n in range(2 * MAX_CANDIDATES):
        await add(db, f"Vergabestelle {n}", "Wir übernehmen Ausschreibungen", kind=EntryKind.NEED, author=CLARA)
    best = await add(db, "Zentrale Vergabestelle", "Ausschreibungen für alle", kind=EntryKind.NEED, author=DORA)
    await add(db, "Zentrale Vergabestelle", kind=EntryKind.NEED, category="Personal", author=DORA)
    await add(db, "Zentrale Vergabestelle", kind=EntryKind.OFFER, author=DORA)
    await add(db, "Zentrale Vergabestelle", kind=EntryKind.NEED, author=BERND)
    await add(db, "Zentrale Vergabestelle", kind=EntryKind.NEED, author=DORA, state=EntryState.DONE)
    new = await add(db, "Zentrale Vergabestelle", "Ausschreibungen", author=BERND)
    async with db.transaction() as s:
        found = await board.candidates(s, new, NOW, MAX_CANDIDATES)
    assert len(found) == MAX_CANDIDATES and found[0].id == best.id  # the one sharing most, first
    assert {(e.kind, e.category, e.state) for e in found} == {("need", "Vergabe und Beschaffung", "open")}
    assert BERND not in {e.author for e in found}


@on_both_databases
async def test_a_deleted_entry_leaves_the_search_index(migrated):
    db = migrated
    await add(db, "Vergabestelle", author=CLARA)
    async with db.transaction() as s:
        await purge.forget_person(s, CLARA)
    assert await titles(db, "Vergabestelle") == []
    if db.engine.dialect.name == "sqlite":
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM board_search"))).scalar() == 0


# --- The commands ------------------------------------------------------------------------------


def say(body: str, sender: str, event_id: str, room: str = ROOM) -> Incoming:
    return Incoming(room, sender, event_id, body, None)


@pytest.fixture
async def bot(tmp_path: Path, migrated_url: str):
    config, database = await configured(tmp_path, COORDINATOR, migrated_url)
    dispatcher = dispatcher_for(config, database)
    yield dispatcher, dispatcher.outbox
    await database.close()


def reply(outbox, event_id: str) -> str:
    """The bot's answer to a command."""
    return next(
        c["body"]
        for _, c, _ in outbox.sent
        if c.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == event_id
    )


def dms(outbox, user_id: str) -> list[str]:
    return [c["body"] for room, c, _ in outbox.sent if room == f"!dm-{user_id}"]


async def test_offer_need_match_contact_and_done(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!biete Vergabe: Zentrale Vergabestelle", BERND, "$b0"), NOW)
    assert "!kommune" in outbox.bodies()[-1]  # no municipality yet
    await dispatcher.handle(say("!raum brett", COORDINATOR, "$brett"), NOW)
    await dispatcher.handle(say("!kommune Gütersloh", BERND, "$k1"), NOW)
    await dispatcher.handle(say("!kommune Verl", CLARA, "$k2"), NOW)
    await dispatcher.handle(say("!biete Vergabe: Vergabeverfahren für Nachbarn | Wir schreiben aus", BERND, "$b1"), NOW)
    assert "A1" in reply(outbox, "$b1") and "gültig bis" in reply(outbox, "$b1")
    card = next(c for room, c, _ in outbox.sent if room == ROOM and "🤝" in c["body"])
    assert "Gütersloh" in card["body"] and BERND not in card["body"] and "offen" in card["body"]

    await dispatcher.handle(say("!suche vergabe: Vergabestelle gesucht", CLARA, "$s1"), NOW)
    assert "A2" in reply(outbox, "$s1") and "passenden Eintrag" in reply(outbox, "$s1")
    assert any("A1" in m and "A2" in m for m in dms(outbox, BERND))
    assert any("A1" in m and "A2" in m for m in dms(outbox, CLARA))
    assert not any("Passend zu" in c["body"] for room, c, _ in outbox.sent if room == ROOM)  # never in the room

    await dispatcher.handle(say("!markt Vergabestelle", DORA, "$m1"), NOW)
    listing = outbox.bodies()[-1]
    assert listing.index("A2") < listing.index("A1")  # the need's title says "Vergabestelle" itself
    await dispatcher.handle(say("!markt Gütersloh", DORA, "$m2"), NOW)
    assert "A1 ·" in reply(outbox, "$m2") and "A2 ·" not in reply(outbox, "$m2")

    await dispatcher.handle(say("!kontakt A1", BERND, "$c0"), NOW)
    assert "eigener Eintrag" in outbox.bodies()[-1]
    await dispatcher.handle(say("!kontakt A1", CLARA, "$c1"), NOW)
    assert "eröffnet" in reply(outbox, "$c1")
    assert outbox.groups == [([BERND, CLARA], "Kontakt A1: Vergabeverfahren für Nachbarn")]
    intro = next(c for room, c, _ in outbox.sent if room == "!group-1")
    assert set(intro["m.mentions"]["user_ids"]) == {BERND, CLARA} and "Verl" in intro["body"]
    edit = [c for room, c, _ in outbox.sent if room == ROOM and "m.new_content" in c][-1]
    assert "im Gespräch" in edit["m.new_content"]["body"]

    await dispatcher.handle(say("!eintrag A1 erledigt", CLARA, "$e0"), NOW)
    assert "eingestellt hat" in outbox.bodies()[-1]  # only the author
    await dispatcher.handle(say("!eintrag A1 erledigt", BERND, "$e1"), NOW)
    assert "erledigt" in reply(outbox, "$e1")
    edit = [c for room, c, _ in outbox.sent if room == ROOM and "m.new_content" in c][-1]
    assert "erledigt" in edit["m.new_content"]["body"] and "kontakt" not in edit["m.new_content"]["body"]
    await dispatcher.handle(say("!markt", DORA, "$m3"), NOW)
    assert "A2 ·" in reply(outbox, "$m3") and "A1 ·" not in reply(outbox, "$m3")

    await dispatcher.handle(say("!meine-daten", CLARA, "$d1"), NOW)
    exported = json.loads(outbox.uploads[-1])
    assert [e["entry"] for e in exported["board_entries"]] == ["A2"]
    assert exported["board_contacts"][0]["entry"] == "A1"
    await dispatcher.handle(say("!daten-löschen ja", CLARA, "$x1"), NOW)
    edit = [c for room, c, _ in outbox.sent if room == ROOM and "m.new_content" in c][-1]
    assert edit["m.new_content"]["body"].startswith("A2: Dieser Eintrag wurde") and "Vergabestelle" not in str(edit)
    await dispatcher.handle(say("!markt Vergabestelle", DORA, "$m4"), NOW)
    assert "A2" not in reply(outbox, "$m4")


async def test_a_search_shows_the_best_ten_and_says_how_to_narrow_when_there_are_more(bot):
    dispatcher, _ = bot
    outbox = dispatcher.outbox
    db = dispatcher.db
    for n in range(SHOW + 1):
        await add(db, f"Vergabestelle {n}", kind=EntryKind.OFFER if n % 2 else EntryKind.NEED)
    await add(db, "Starkregenvorsorge im Verbund", category="Sonstiges")

    await dispatcher.handle(say("!markt Vergabestelle", DORA, "$m1"), NOW)
    answer = reply(outbox, "$m1")
    assert answer.count(" · Vergabe und Beschaffung · ") == SHOW and "Die 10 besten Treffer" in answer
    assert "Es gibt weitere Einträge" in answer and f"!markt {DEFAULT_CATEGORIES[0]}" in answer
    await dispatcher.handle(say("!markt", DORA, "$m2"), NOW)  # the newest: more than fit, too
    assert reply(outbox, "$m2").count("\nA") == SHOW and "Es gibt weitere Einträge" in reply(outbox, "$m2")

    await dispatcher.handle(say("!markt Starkregen", DORA, "$m3"), NOW)  # all there are: no hint
    answer = reply(outbox, "$m3")
    assert "1 Eintrag zu „Starkregen“" in answer and "A12 ·" in answer and "weitere" not in answer


async def test_the_author_declines_a_contact_in_its_room(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!kommune Verl", BERND, "$k1"), NOW)
    await dispatcher.handle(say("!biete Personal: Bauhof-Pool", BERND, "$b1"), NOW)
    await dispatcher.handle(say("!kontakt a1", CLARA, "$c1"), NOW)
    await dispatcher.handle(say("!kontakt A1", CLARA, "$c2"), NOW)
    assert "schon Kontakt" in outbox.bodies()[-1]
    await dispatcher.handle(say("!kontakt A1 ablehnen", BERND, "$x1", room="!group-1"), NOW)
    assert "abgelehnt" in reply(outbox, "$x1")
    assert any("abgelehnt" in c["body"] for room, c, _ in outbox.sent if room == "!group-1")
    async with dispatcher.db.transaction() as s:
        entry = await board.entry(s, 1)
    assert entry is not None and entry.state == EntryState.OPEN


async def test_renewal_reminder_and_expiry_are_planned_messages_sent_once(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!raum brett", COORDINATOR, "$brett"), NOW)
    await dispatcher.handle(say("!kommune Verl", BERND, "$k1"), NOW)
    await dispatcher.handle(say("!biete Fördermittel: Beratung", BERND, "$b1"), NOW)
    clock = [NOW]
    scheduler = Scheduler(dispatcher.config, dispatcher.db, lambda: None, lambda: clock[0], features=FEATURES)

    async def run_at(moment: datetime) -> None:
        clock[0] = moment
        await scheduler.sweep()
        await scheduler.sweep()  # a second sweep sends nothing twice
        await dispatcher.delivered([])

    await run_at(NOW + 75 * DAY)
    assert not any("läuft" in m for m in dms(outbox, BERND))
    await run_at(NOW + 76 * DAY)
    assert sum("läuft am" in m and "A1" in m for m in dms(outbox, BERND)) == 1
    await dispatcher.handle(say("!eintrag A1 verlängern", BERND, "$r1"), NOW + 80 * DAY)
    assert "gilt jetzt bis" in reply(outbox, "$r1")
    await run_at(NOW + 90 * DAY)  # the old expiry: renewed, nothing happens
    assert not any("abgelaufen" in m for m in dms(outbox, BERND))
    await run_at(NOW + 156 * DAY)  # renewed at day 80: asked again 14 days before day 170
    assert sum("läuft am" in m and "A1" in m for m in dms(outbox, BERND)) == 2
    await run_at(NOW + 170 * DAY)
    assert sum("abgelaufen" in m for m in dms(outbox, BERND)) == 1
    async with dispatcher.db.transaction() as s:
        entry = await board.entry(s, 1)
        waiting = await planned.pending(s)
    assert entry is not None and entry.state == EntryState.EXPIRED and waiting == []
    edit = [c for room, c, _ in outbox.sent if "m.new_content" in c][-1]
    assert "abgelaufen" in edit["m.new_content"]["body"]


async def test_a_coordinator_of_the_board_room_takes_an_entry_down(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!raum brett", COORDINATOR, "$brett"), NOW)
    await dispatcher.handle(say("!kommune Verl", BERND, "$k1"), NOW)
    await dispatcher.handle(say("!biete Personal: Bauhof-Pool | Rufen Sie privat an", BERND, "$b1"), NOW)
    card = next(n for n, (room, c, _) in enumerate(outbox.sent, 1) if room == ROOM and "🤝" in c["body"])
    await dispatcher.handle(say("!eintrag A1 sperren Werbung", CLARA, "$h0"), NOW)
    assert "Koordination des Brett-Raums" in reply(outbox, "$h0") and outbox.redactions == []
    await dispatcher.handle(say("!eintrag A1 sperren Werbung für Privates", COORDINATOR, "$h1"), NOW)
    assert "ist gesperrt" in reply(outbox, "$h1")
    assert outbox.redactions == [(ROOM, f"$event{card}", "Von der Koordination des Bretts gesperrt")]
    told = [m for m in dms(outbox, BERND) if "gesperrt" in m]
    assert len(told) == 1 and "Werbung für Privates" in told[0]
    await dispatcher.handle(say("!eintrag A1 sperren", COORDINATOR, "$h2"), NOW)
    assert "schon gesperrt" in reply(outbox, "$h2") and len(outbox.redactions) == 1  # taken back once
    await dispatcher.handle(say("!markt", DORA, "$m1"), NOW)
    assert "noch keine offenen Einträge" in reply(outbox, "$m1")
    await dispatcher.handle(say("!kontakt A1", DORA, "$c1"), NOW)
    assert "nicht mehr offen (gesperrt)" in reply(outbox, "$c1")
    await dispatcher.handle(say("!eintrag A1 verlängern", BERND, "$e1"), NOW)
    assert "von der Koordination des Bretts gesperrt" in reply(outbox, "$e1")


async def test_an_entry_longer_than_its_card_is_refused_with_the_limit(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(say("!kommune Verl", BERND, "$k1"), NOW)
    await dispatcher.handle(say(f"!biete Personal: Bauhof-Pool | {'Winterdienst ' * 100}", BERND, "$b1"), NOW)
    assert "1299 Zeichen" in reply(outbox, "$b1") and "höchstens 1000" in reply(outbox, "$b1")


def test_the_board_config_and_its_mistakes():
    base = {
        "matrix": {"homeserver": "http://127.0.0.1:8008", "user_id": "@regiobot:localhost", "password": "x"},
        "rooms": {"!brett:localhost": "beide"},
    }
    assert parse_config(base, {}, Path(".")).board.categories == DEFAULT_CATEGORIES
    chosen = {
        "categories": ["Bau", " IT  und OZG "],
        "expire_days": 30,
        "renew_notice_days": 7,
        "room": "!brett:localhost",
    }
    board_config = parse_config({**base, "board": chosen}, {}, Path(".")).board
    assert board_config.categories == ("Bau", "IT und OZG") and board_config.room == "!brett:localhost"
    assert (board_config.expiry, board_config.renew_notice) == (30 * DAY, 7 * DAY)
    for wrong, key in [
        ({"categories": []}, "categories"),
        ({"categories": ["Bau", 3]}, "categories"),
        ({"expire_days": 0}, "expire_days"),
        ({"renew_notice_days": 90}, "renew_notice_days"),
        ({"room": "!elsewhere:localhost"}, "room"),
    ]:
        with pytest.raises(ConfigError, match=rf"\[board\] {key}"):
            parse_config({**base, "board": wrong}, {}, Path("."))


def test_the_stemmer_is_loaded_only_when_words_are_stemmed():
    program = (
        "import sys, bot.app\n"
        "assert 'snowballstemmer' not in sys.modules, 'snowballstemmer (all its languages) loaded at start'\n"
        "from rules.search import stem\n"
        "assert stem('vergabestellen') == stem('vergabestelle') == 'vergabestell'\n"
        "assert 'snowballstemmer' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=Path(__file__).parents[2])
