"""The per-person command limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.dispatch import EventKind, Incoming
from bot.flood import FloodGuard, Verdict
from tests.unit.fakes import NOW

T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


def test_over_the_limit_warns_once_then_ignores_until_the_window_has_room():
    guard = FloodGuard(3, timedelta(minutes=1))
    seconds = [0, 1, 2, 3, 4, 30, 61, 62]
    verdicts = [guard.check("@a:x", T0 + timedelta(seconds=s)) for s in seconds]
    assert verdicts == [Verdict.ALLOW] * 3 + [
        Verdict.WARN,
        Verdict.IGNORE,
        Verdict.IGNORE,
        Verdict.ALLOW,
        Verdict.ALLOW,
    ]
    assert guard.check("@b:x", T0 + timedelta(seconds=4)) == Verdict.ALLOW  # others are not affected


def test_only_the_people_of_the_last_window_are_remembered():
    """A region's thousands of people, each writing now and then: the guard keeps those whose
    commands still count, not everyone who ever wrote."""
    guard = FloodGuard(2, timedelta(minutes=1))
    for n in range(1000):
        guard.check(f"@p{n}:x", T0 + timedelta(seconds=10 * n), f"$e{n}")
        guard.settled([f"$e{n}"])
    assert sorted(guard._recent) == [f"@p{n}:x" for n in range(994, 1000)]  # the last minute's
    assert not guard._judged


def test_a_warned_person_is_forgotten_once_the_window_has_room_again():
    guard = FloodGuard(1, timedelta(minutes=1))
    assert [guard.check("@a:x", T0 + timedelta(seconds=s)) for s in (0, 1, 2)] == [
        Verdict.ALLOW,
        Verdict.WARN,
        Verdict.IGNORE,
    ]
    assert guard.check("@b:x", T0 + timedelta(seconds=90)) == Verdict.ALLOW
    assert "@a:x" not in guard._recent and "@a:x" not in guard._warned
    assert guard.check("@a:x", T0 + timedelta(seconds=91)) == Verdict.ALLOW


async def test_a_flooding_user_is_answered_once_and_the_rest_is_ignored(bot):
    dispatcher, outbox = bot
    limit = dispatcher.config.commands_per_minute
    for n in range(limit + 5):
        handled = await dispatcher.handle(
            Incoming(
                "!room:localhost", "@flood:localhost", f"$f{n}", "!meine", None, sent_at=NOW + timedelta(seconds=n)
            ),
            NOW,
        )
        assert handled
    assert len(outbox.sent) == limit + 1
    assert "Geduld" in outbox.bodies()[-1]
    await dispatcher.handle(
        Incoming("!room:localhost", "@flood:localhost", "$later", "!meine", None, sent_at=NOW + timedelta(minutes=2)),
        NOW,
    )
    assert "Geduld" not in outbox.bodies()[-1]


def test_a_command_judged_again_gets_its_verdict_again_and_counts_once():
    """Its batch was not committed (the database was locked) and is decided anew."""
    guard = FloodGuard(2, timedelta(minutes=1))
    first = [guard.check("@a:x", T0, f"$e{n}") for n in range(3)]
    again = [guard.check("@a:x", T0, f"$e{n}") for n in range(3)]
    assert first == again == [Verdict.ALLOW, Verdict.ALLOW, Verdict.WARN]
    assert guard.check("@a:x", T0, "$e3") == Verdict.IGNORE  # the three above counted once each


def test_a_settled_command_is_not_remembered_by_its_event():
    """Once its batch is committed the verdict is let go: the same event id (it cannot come
    again) would be judged, and counted, like a new command."""
    guard = FloodGuard(2, timedelta(minutes=1))
    assert guard.check("@a:x", T0, "$e1") == Verdict.ALLOW
    guard.settled(["$e1"])
    assert guard.check("@a:x", T0, "$e1") == Verdict.ALLOW
    assert guard.check("@a:x", T0, "$e2") == Verdict.WARN  # "$e1" counted twice


async def test_the_dispatcher_lets_the_verdicts_of_a_committed_batch_go(bot):
    dispatcher, _ = bot
    events = [Incoming("!room:localhost", f"@p{n}:localhost", f"$b{n}", "!meine", None, sent_at=NOW) for n in range(3)]
    assert await dispatcher.handle_batch(events, NOW) == 3
    assert not dispatcher.flood._judged
    assert len(dispatcher.flood._recent) == 3


async def test_the_hint_about_an_unreadable_message_comes_once_per_person_and_room_a_while(bot):
    dispatcher, outbox = bot

    def unreadable(n: int, sender: str = "@a:localhost") -> Incoming:
        return Incoming("!room:localhost", sender, f"$u{sender}{n}", kind=EventKind.UNDECRYPTABLE)

    for n, minutes in enumerate((0, 1, 11)):
        await dispatcher.handle(unreadable(n), NOW + timedelta(minutes=minutes))
    await dispatcher.handle(unreadable(0, "@b:localhost"), NOW + timedelta(minutes=30))
    assert len(outbox.sent) == 3  # at 0 and 11 minutes, and @b's
    assert list(dispatcher._hinted) == [("!room:localhost", "@b:localhost")]  # @a's, long ago, let go
