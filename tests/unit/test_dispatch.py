"""The dispatcher: parsing, routing, roles, and errors turned into answers (with a real database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import ROUTERS
from bot.arguments import SessionRef
from bot.config import parse_config
from bot.dispatch import EventKind, Incoming
from bot.roles import Role, role_of
from bot.routing import CommandSet, Invocation, Router, parse_invocation, strip_reply_fallback
from commands import coordination_router, sessions_router
from rules.errors import UserError
from services.status import report
from storage import planned, registrations, sessions
from storage.rows import save
from tests.unit.fakes import COORDINATOR, NOW, FakeRooms, acting_for, configured, dispatcher_for


def message(body: str, sender: str = "@bernd:localhost", event_id: str = "$cmd") -> Incoming:
    return Incoming("!room:localhost", sender, event_id, body, None)


def test_reply_fallback_is_stripped():
    assert strip_reply_fallback("> <@a:b> hallo\n> zweite Zeile\n\n!meine") == "!meine"
    assert strip_reply_fallback("!meine\n> kein Zitat") == "!meine\n> kein Zitat"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!Termine", Invocation(("termine",), "")),
        ("  !anmelden #3 Stadt Bielefeld ", Invocation(("anmelden", "#3"), "#3 Stadt Bielefeld")),
        ("!termin neu\nTitel: X\nWann: morgen", Invocation(("termin", "neu"), "neu\nTitel: X\nWann: morgen")),
        ("!", None),
        ("!!!", None),
        ("! termine", None),
        ("!3", None),
        ("hallo !termine", None),
        ("", None),
    ],
)
def test_parse_invocation(body, expected):
    assert parse_invocation(body, "!") == expected


def test_two_word_commands_win_and_names_are_unique():
    commands = CommandSet([sessions_router, coordination_router])
    command, args = commands.resolve(Invocation(("termin", "neu"), "neu A | B"))
    assert command.name == "termin neu" and args == "A | B"
    command, args = commands.resolve(Invocation(("termin", "#2"), "#2"))
    assert command.name == "termin" and args == "#2"
    with pytest.raises(ValueError):
        CommandSet([sessions_router, sessions_router])


def test_roles_from_lists_and_power_levels():
    config = parse_config(
        {"matrix": {"homeserver": "http://x", "user_id": "@b:x", "password": "p"}, "roles": {"moderators": ["@mo:x"]}},
        {},
        Path("."),
    )
    assert role_of("@mo:x", config.roles, 0) == Role.MODERATOR
    assert role_of("@any:x", config.roles, 50) == Role.MODERATOR
    assert role_of("@any:x", config.roles, 100) == Role.COORDINATOR
    assert role_of("@any:x", config.roles, 0) == Role.STAFF


async def test_unexpected_error_gives_reference_not_details(bot, caplog):
    dispatcher, outbox = bot
    assert await dispatcher.handle(message("!kaputt"), NOW)
    (answer,) = outbox.bodies()
    assert "Ref." in answer and "secret" not in answer and "RuntimeError" not in answer
    reference = answer.split("Ref. ")[1][:6]
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)


async def test_not_a_command_is_ignored(bot):
    dispatcher, outbox = bot
    assert not await dispatcher.handle(message("Guten Morgen!"), NOW)
    assert outbox.sent == []


async def test_answers_reply_to_the_command_once_with_a_transaction_id_of_their_own(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(message("!termine", event_id="$one"), NOW)
    await dispatcher.handle(message("!termine", event_id="$one"), NOW)  # the same event again: no second answer
    await dispatcher.handle(message("!termine", event_id="$two"), NOW)
    first, second = outbox.sent
    assert first[2] != second[2]
    assert first[1]["m.relates_to"] == {"m.in_reply_to": {"event_id": "$one"}}
    assert first[1]["msgtype"] == "m.notice"


async def test_last_place_taken_by_exactly_one_of_two_concurrent_registrations(bot):
    dispatcher, outbox = bot
    start = (NOW + timedelta(days=3)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(message(f"!termin neu Fördermittel | {start} | Plätze: 1", sender=COORDINATOR), NOW)
    assert "#1" in outbox.bodies()[-1]
    await asyncio.gather(
        *(
            dispatcher.handle(message("!anmelden #1", sender=f"@p{i}:localhost", event_id=f"$r{i}"), NOW)
            for i in range(6)
        )
    )
    answers = outbox.bodies()[1:]
    assert sum("Sie sind angemeldet" in a for a in answers) == 1
    positions = sorted(int(a.split("Platz ")[1].split("**")[0].split()[0]) for a in answers if "Warteliste an" in a)
    assert positions == [1, 2, 3, 4, 5]


async def create(dispatcher, outbox, text: str = "Fördermittel | {start} | Plätze: 1", days: int = 3) -> None:
    start = (NOW + timedelta(days=days)).astimezone().strftime("%d.%m.%Y %H:%M")
    await dispatcher.handle(
        message(f"!termin neu {text.format(start=start)}", sender=COORDINATOR, event_id=f"$new{len(outbox.sent)}"), NOW
    )
    assert "angelegt" in outbox.bodies()[-1]


async def test_creating_a_session_plans_its_messages_and_tells_the_scheduler(bot):
    dispatcher, outbox = bot
    await create(dispatcher, outbox, days=20)
    async with dispatcher.db.transaction() as s:
        pending = await planned.pending(s, session_id=1)
    assert sorted(p.kind for p in pending) == ["announcement", "announcement", "feedback", "reminder", "reminder"]
    assert dispatcher.plans.changed_sessions == [1]
    await dispatcher.handle(message("!status", sender=COORDINATOR, event_id="$status"), NOW)
    assert "Ankündigung · #1" in outbox.bodies()[-1] and "Nichts" in outbox.bodies()[-1]


async def test_the_status_is_for_coordinators_and_a_rooms_own_shows_only_its_sessions(tmp_path, migrated_url):
    """The use case decides the role and the scope itself: staff are refused (also on the web), a
    coordinator by a room's power sees that room's plans, one on the config list all of them."""
    bielefeld, paderborn, dora = "!bi:localhost", "!pb:localhost", "@dora:localhost"
    config, db = await configured(
        tmp_path, COORDINATOR, migrated_url, rooms={bielefeld: "Bielefeld", paderborn: "Paderborn"}
    )
    levels = FakeRooms()
    levels.levels[(bielefeld, dora)] = 100
    dispatcher = dispatcher_for(config, db, rooms=levels)
    start = (NOW + timedelta(days=20)).astimezone().strftime("%d.%m.%Y %H:%M")
    for room in (bielefeld, paderborn):
        await dispatcher.handle(Incoming(room, COORDINATOR, f"$new{room}", f"!termin neu Wärme | {start}", None), NOW)
    async with db.transaction() as s:
        for room_id in (bielefeld, ""):
            with pytest.raises(UserError) as refused:
                await report(acting_for(config, "@bernd:localhost", room_id, levels), s)
            assert refused.value.key == "errors.role_reserved"
        own_room = await report(acting_for(config, dora, bielefeld, levels), s)
        everything = await report(acting_for(config, COORDINATOR, ""), s)
    assert {row.session_id for row in own_room.upcoming} == {1}
    assert {row.session_id for row in everything.upcoming} == {1, 2}
    await db.close()


async def test_a_reaction_registers_and_its_redaction_withdraws_answered_by_direct_message(bot):
    dispatcher, outbox = bot
    await create(dispatcher, outbox)
    async with dispatcher.db.transaction() as s:  # the announcement went out as $announce
        announcement = next(p for p in await planned.pending(s, session_id=1) if p.kind == "announcement")
        announcement.status, announcement.sent_event_id = "sent", "$announce"
        await save(s, announcement)
    sent = len(outbox.sent)

    def reaction(event_id: str, key: str = "✅", target: str = "$announce") -> Incoming:
        return Incoming(
            "!room:localhost", "@bernd:localhost", event_id, kind=EventKind.REACTION, key=key, target=target
        )

    assert not await dispatcher.handle(reaction("$elsewhere", target="$some-other-message"), NOW)
    assert await dispatcher.handle(reaction("$react"), NOW)
    room, content, _ = outbox.sent[sent]
    assert room == "!dm-@bernd:localhost" and "m.relates_to" not in content and "angemeldet" in content["body"]
    async with dispatcher.db.transaction() as s:
        assert (await registrations.registration_by_reaction(s, "$react")).user_id == "@bernd:localhost"
    assert dispatcher.plans.changed_places == [1]  # the announcement is refreshed, no jobs derived again
    await dispatcher.handle(message("!anmelden #1", event_id="$again"), NOW)
    await dispatcher.handle(reaction("$react2"), NOW)
    assert "bereits angemeldet" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:  # the second ✅ now stands for the registration
        assert (await registrations.registration_by_reaction(s, "$react2")) is not None
    someone_else = Incoming(
        "!room:localhost", "@clara:localhost", "$redact0", kind=EventKind.REDACTION, target="$react2"
    )
    await dispatcher.handle(someone_else, NOW)  # only the person who reacted can take it back
    async with dispatcher.db.transaction() as s:
        assert (await registrations.registration_by_reaction(s, "$react2")) is not None
    await dispatcher.handle(
        Incoming("!room:localhost", "@bernd:localhost", "$redact", kind=EventKind.REDACTION, target="$react2"), NOW
    )
    assert outbox.sent[-1][0] == "!dm-@bernd:localhost" and "abgemeldet" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:
        assert (await registrations.registration_by_reaction(s, "$react2")) is None


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("!erinnerung", "eingeschaltet"),
        ("!erinnerung an", "wieder auch als Direktnachricht"),
        ("!erinnerung vielleicht", "erinnerung an oder"),
    ],
)
async def test_reminder_setting(bot, command, expected):
    dispatcher, outbox = bot
    await dispatcher.handle(message(command), NOW)
    assert expected in outbox.bodies()[-1]


async def test_reminder_setting_is_kept(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(message("!erinnerung an", event_id="$on"), NOW)
    await dispatcher.handle(message("!erinnerung", event_id="$ask"), NOW)
    assert "eingeschaltet" in outbox.bodies()[-1]
    await dispatcher.handle(message("!erinnerung aus", event_id="$off"), NOW)
    await dispatcher.handle(message("!erinnerung", event_id="$ask2"), NOW)
    assert "ausgeschaltet" in outbox.bodies()[-1]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("!protokoll", "Nummer des Termins"),
        ("!protokoll #1", "den Link an"),
        ("!protokoll #1 ftp://example.org/p.pdf", "kein gültiger Link"),
        ("!protokoll #9 https://example.org/p.pdf", "gibt es nicht"),
        ("!material #1 javascript:alert(1)", "kein gültiger Link"),
        ("!nachbereitung #1", "einen Text an"),
        ("!nachbereitung #1 gestern 9 Uhr | Text", "Vergangenheit"),
        ("!nachbereitung #1 irgendwann | Text", "verstehe ich nicht"),
        ("!nachbereitung #1 morgen 9 Uhr |", "einen Text an"),
    ],
)
async def test_followup_commands_explain_what_is_wrong(bot, command, expected):
    dispatcher, outbox = bot
    await create(dispatcher, outbox)
    await dispatcher.handle(message(command, sender=COORDINATOR, event_id="$cmd"), NOW)
    assert expected in outbox.bodies()[-1]


async def test_protocol_material_and_followups_are_planned_once_per_command(bot):
    dispatcher, outbox = bot
    await create(dispatcher, outbox)
    for _ in range(2):  # the same command event twice: planned once
        await dispatcher.handle(
            message("!protokoll #1 https://example.org/p.pdf", sender=COORDINATOR, event_id="$p"), NOW
        )
    await dispatcher.handle(
        message("!material #1 https://example.org/f.pdf Folien", sender=COORDINATOR, event_id="$m"), NOW
    )
    await dispatcher.handle(
        message("!nachbereitung #1 Mo 7.12.2026 9 Uhr | Umfrage", sender=COORDINATOR, event_id="$f"), NOW
    )
    assert "geplant für Mo 07.12.2026, 09:00 Uhr" in outbox.bodies()[-1]
    async with dispatcher.db.transaction() as s:
        later = {
            p.kind: p
            for p in await planned.pending(s, session_id=1)
            if p.kind not in ("announcement", "reminder", "feedback")
        }
        session = await sessions.get_session(s, 1)
    assert set(later) == {"protocol", "material", "followup"}
    assert later["followup"].due_at == datetime(2026, 12, 7, 8, tzinfo=UTC)
    assert later["protocol"].due_at == NOW and session.protocol_url == "https://example.org/p.pdf"


async def test_archive_lists_past_sessions_with_protocol_and_material(bot):
    dispatcher, outbox = bot
    await dispatcher.handle(message("!archiv", event_id="$a0"), NOW)
    assert "noch keine vergangenen" in outbox.bodies()[-1]
    await create(dispatcher, outbox)
    await dispatcher.handle(message("!protokoll #1 https://example.org/p.pdf", sender=COORDINATOR, event_id="$p"), NOW)
    await dispatcher.handle(
        message("!material #1 https://example.org/f.pdf Folien", sender=COORDINATOR, event_id="$m"), NOW
    )
    later = NOW + timedelta(days=5)
    await dispatcher.handle(message("!archiv", event_id="$a1"), later)
    text = outbox.bodies()[-1]
    assert "Fördermittel" in text and "Protokoll: https://example.org/p.pdf" in text
    assert "Material: Folien – https://example.org/f.pdf" in text


async def test_status_names_failures_in_words_not_in_the_homeservers_text(bot):
    dispatcher, outbox = bot
    await create(dispatcher, outbox)
    async with dispatcher.db.transaction() as s:
        row = (await planned.pending(s, session_id=1))[0]
        row.status, row.attempts, row.last_error, row.due_at = "failed", 5, "403: M_FORBIDDEN user not in room", NOW
    await dispatcher.handle(message("!status", sender=COORDINATOR, event_id="$st"), NOW)
    assert "vom Homeserver abgelehnt" in outbox.bodies()[-1] and "M_FORBIDDEN" not in outbox.bodies()[-1]


async def test_a_failing_handler_of_any_kind_is_answered_and_the_next_events_still_are(tmp_path, migrated_url):
    """A command, a thread message, a reaction and a redaction whose handlers raise: each gets a
    reference, none stops the dispatcher, and the command after them is answered as usual."""
    broken = Router("broken")

    async def anything(s, event_id):
        return event_id

    @broken.command("kaputt", help="help.help")
    async def failing_command(ctx):
        raise RuntimeError("command")

    @broken.thread_message(on=anything)
    async def failing_listener(ctx, found, text):
        raise RuntimeError("thread")

    @broken.reaction({"💥"}, on=anything)
    async def failing_reaction(ctx, found):
        raise RuntimeError("reaction")

    @broken.redaction(on=anything)
    async def failing_redaction(ctx, found):
        raise RuntimeError("redaction")

    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    dispatcher = dispatcher_for(config, db, [*ROUTERS, broken])
    room, who = "!room:localhost", "@bernd:localhost"
    events = [
        Incoming(room, who, "$1", "!kaputt"),
        Incoming(room, who, "$2", "eine Frage", thread_root="$root"),
        Incoming(room, who, "$3", kind=EventKind.REACTION, key="💥", target="$x"),
        Incoming(room, who, "$4", kind=EventKind.REDACTION, target="$y"),
    ]
    for event in events:
        assert await dispatcher.handle(event, NOW)
    answers = dispatcher.outbox.bodies()
    assert len(answers) == 4 and all("Ref." in a for a in answers)
    assert await dispatcher.handle(Incoming(room, who, "$5", "!termine"), NOW)
    assert "Ref." not in dispatcher.outbox.bodies()[-1]
    await db.close()


def test_a_misspelt_argument_fails_when_the_router_is_built():
    """A declared argument the handler does not take by that name fails at start, not as a "Ref."."""
    router = Router("misspelt")
    with pytest.raises(TypeError, match="numbr"):

        @router.command("probe", help="help.help", args=[SessionRef()])
        async def probe(ctx, numbr):  # pragma: no cover - never registered
            raise AssertionError

    @router.command("probe", help="help.help", args=[SessionRef()])
    async def fine(ctx, number):  # pragma: no cover - registered, never called here
        raise AssertionError

    assert [c.handler for c in router.commands] == [fine]


async def test_a_reaction_from_another_room_does_not_reach_what_lives_elsewhere(bot):
    """A ✅ in a room of one's own whose relation names the announcement of an official room does
    not register (the same check guards thread messages, replies and redactions)."""
    dispatcher, outbox = bot
    await create(dispatcher, outbox)
    async with dispatcher.db.transaction() as s:
        announcement = next(p for p in await planned.pending(s, session_id=1) if p.kind == "announcement")
        announcement.status, announcement.sent_event_id = "sent", "$announce"
        await save(s, announcement)
    own_room = "!mine:localhost"
    forged = Incoming(own_room, "@bernd:localhost", "$forged", kind=EventKind.REACTION, key="✅", target="$announce")
    assert not await dispatcher.handle(forged, NOW)
    async with dispatcher.db.transaction() as s:
        assert await registrations.registration_by_reaction(s, "$forged") is None
    same_room = Incoming(
        "!room:localhost", "@bernd:localhost", "$real", kind=EventKind.REACTION, key="✅", target="$announce"
    )
    assert await dispatcher.handle(same_room, NOW)
    async with dispatcher.db.transaction() as s:
        assert (await registrations.registration_by_reaction(s, "$real")).user_id == "@bernd:localhost"
