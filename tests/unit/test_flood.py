"""The per-person command limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.dispatch import Incoming
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


def test_idle_people_are_forgotten():
    guard = FloodGuard(1, timedelta(minutes=1))
    guard.MAX_PEOPLE = 2
    for n in range(5):
        guard.check(f"@p{n}:x", T0 + timedelta(minutes=2 * n))
    assert len(guard._recent) <= 3


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
