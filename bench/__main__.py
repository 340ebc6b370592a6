"""`python -m bench`: one run of every measurement against a throwaway Synapse on loopback.

Prints a table (target, measured, verdict) and writes bench/results.json. Targets are
reported, never asserted: a missed target does not fail the run. `--quick` is the developer's
loop: fewer samples, people, sessions and entries, and the slow phases skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import board, botproc, direct_chats, encrypted, imports, scenarios, seed, standby
from bench.clients import Observer, create_room, join_all, joined
from bench.context import ECHO, PARALLEL_ECHO, REGIOBOT, Bench, Phase
from bench.homeserver import register_many, register_one, start_synapse
from bench.profiling import profiled
from bench.report import LOCAL_RESULTS, RESULTS, Report, summary
from bot.config import parse_config
from bot.devserver import free_port
from storage.db import Database
from tests.postgres import unavailable as postgres_unavailable

ROUND_TRIP_TARGET = 1.15  # × the echo bot (hold the line)
BURST_TARGET = 1.2  # × the parallel echo bot
# The burst and its floor, in turn, this many times: the verdict is the median of the pairs' ratios
# (a single burst's floor moves by more than the target's margin from one run to the next).
BURST_PAIRS = 3
FAN_OUT_TARGET_S = 5.0
FAN_OUT_FLOOR_BODY = "Erinnerung: „Erinnerungstest“ beginnt in 20 Sekunden. " * 4  # about a reminder's length
PROFILE_BEFORE_DUE_S = 3.0  # the fan-out's profile starts this long before the due time
RATE_LIMITED_DMS = 30
# The rate-limited reminder is written while the bot runs: due this long after, time for the bot's
# sweep (every 30 s) to place it; its people's direct rooms exist since the fan-out.
RATE_LIMITED_LEAD = timedelta(seconds=40)
MARKET_TARGET = 1.2
MARKET_COMMAND = "!markt Vergabestelle"
SCALE_TARGET = 1.2
# The bot's own resident set: beyond the libraries floor (bench.imports), at rest and after work;
# and with the seeded database against the empty one at rest.
REST_MB, WORK_MB, SEEDED_MB = 10.0, 15.0, 3.0
REST_S = 3.0  # how long the bot idles before its memory at rest is read
START_S = 1.5  # from process start to answering commands (seeded database); the standby from holding the lock
OUTBOX_SHARE = 0.05  # what writing to the outbox may add to the median round trip
CAPACITY = 50
ROUND_TRIP_COMMANDS = ("!termine", "!anmelden #{round_trip}", "!abmelden #{round_trip}", "!meine")
SCALE_COMMANDS = ("!termine", "!meine")

SIZES = {
    "samples": "round trips per command and bot",
    "users": "people in the burst and the fan-out",
    "sessions": "sessions in the database for the scale run",
    "registrations": "registrations for the scale run",
    "entries": "board entries for the !markt search",
    "chats": "direct chats for the start and the takeover with many of them",
    "members": "members with a device each in the encrypted room",
}
# The sizes of a full run and of a `--quick` one; an option given on the command line wins.
FULL = {
    "samples": 40,
    "users": 200,
    "sessions": 10_000,
    "registrations": 100_000,
    "entries": 10_000,
    "chats": 2_000,
    "members": 300,
}
QUICK = {
    "samples": 8,
    "users": 60,
    "sessions": 1_000,
    "registrations": 10_000,
    "entries": 1_000,
    "chats": 100,
    "members": 30,
}


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the developer's loop (≤ 3 minutes): {} and no rate-limit wait or standby".format(
            ", ".join(f"{k} {v:,}" for k, v in QUICK.items())
        ),
    )
    for name, what in SIZES.items():
        parser.add_argument(f"--{name}", type=int, help=f"{what} ({FULL[name]:,}; --quick {QUICK[name]:,})")
    parser.add_argument(
        "--chats-from",
        type=Path,
        metavar="DIR",
        help="the direct chats seeded by an earlier run (its work folder's direct/, kept): measured"
        " again without seeding them (minutes with 2,000)",
    )
    parser.add_argument(
        "--only",
        type=_phase_names,
        metavar="PHASE[,PHASE]",
        help="run only these phases (and the memory phase, which checks what they noted): {}".format(
            ", ".join(phase.__name__ for phase in PHASES[:-1])
        ),
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record py-spy profiles (collapsed stacks) of the bot's round trips, burst, fan-out and scale run in DIR",
    )
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def _phase_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip().replace("-", "_") for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in {phase.__name__ for phase in PHASES}]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"no such phase: {', '.join(unknown) or text!r}")
    return names


# What a phase builds on: the work or the figures of an earlier one (run along with `--only`).
NEEDS = {
    "fan_out": ("seeded_start",),
    "scale": ("round_trips", "seeded_start"),
    "rate_limit": ("fan_out",),
}


def chosen_phases(only: tuple[str, ...] | None) -> tuple[Phase, ...]:
    """The phases of a run in their order: all, or those named with `--only`, what they build on
    (`NEEDS`) and the memory phase."""
    if not only:
        return PHASES
    wanted = {"memory"}
    pending = list(only)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(NEEDS.get(name, ()))
    return tuple(phase for phase in PHASES if phase.__name__ in wanted)


def ratio_row(report: Report, what: str, bot: dict[str, float], floor: dict[str, float], target: float) -> None:
    ratio = bot["median_ms"] / floor["median_ms"]
    report.check(
        what,
        f"≤ {target} × floor",
        f"{bot['median_ms']:.0f} ms (p90 {bot['p90_ms']:.0f}) / floor {floor['median_ms']:.0f} ms = {ratio:.2f} ×",
        ratio <= target,
    )


async def setup(args: argparse.Namespace, work: Path, stack: AsyncExitStack) -> Bench:
    """The homeserver, the people in the three bots' rooms, the echo bots and regiobot (empty
    database) running; everything registered with `stack` to be ended."""
    print("the libraries floor (bench.imports, fresh processes) …", flush=True)
    breakdown = imports.breakdown(runs=1 if args.quick else 3)
    server = await start_synapse(work / "hs")
    stack.callback(server.stop)
    hs = server.url
    probe, admin = await register_one(server, "probe"), await register_one(server, "benchadmin", admin=True)
    echo_account, parallel_account = await register_one(server, "echo"), await register_one(server, "echoparallel")
    bot_account = await register_one(server, "regiobot")
    for account in (probe, echo_account, parallel_account, bot_account):  # all but the rate-limit scenario
        await scenarios.exempt(hs, admin.access_token, account.user_id)
    print(f"registering {args.users} people …", flush=True)
    people = await register_many(server, "person", args.users)
    observer = Observer(hs, probe)
    await observer.start()
    stack.push_async_callback(observer.close)
    rooms = {
        REGIOBOT: await create_room(observer, "Regiopol Akademie (Bench)", bot_account.user_id),
        ECHO: await create_room(observer, "Echo (Bench)", echo_account.user_id),
        PARALLEL_ECHO: await create_room(observer, "Echo, parallel (Bench)", parallel_account.user_id),
    }
    clients = await join_all(hs, people, list(rooms.values()))
    for client in clients:
        stack.push_async_callback(client.close)

    settings = botproc.bot_settings(hs, bot_account.user_id, bot_account.password, work / "bot")
    settings["rooms"] = {rooms[REGIOBOT]: "beide"}  # the bench room is an official room
    config = parse_config(settings, {}, base_dir=work / "bot")
    botproc.write_toml(settings, work / "bot.toml")
    db = Database(config.storage_url)
    await db.migrate()
    db_file = db.sqlite_file
    assert db_file is not None
    round_trip, mine, *bursting = await seed.add_sessions(
        db,
        rooms[REGIOBOT],
        [
            ("Rundlauf", timedelta(days=30), None),
            ("Meine", timedelta(days=32), None),
            *((f"Ansturm {n}", timedelta(days=31, hours=n), CAPACITY) for n in range(1, BURST_PAIRS + 1)),
        ],
    )
    await seed.register(db, mine, [probe.user_id])
    await db.close()

    echo_pids = {}
    for name, account, parallel in ((ECHO, echo_account, False), (PARALLEL_ECHO, parallel_account, True)):
        echo = botproc.echo_bot(hs, account, work / f"{name.replace(' ', '-')}.log", parallel=parallel)
        stack.callback(echo.stop)
        await echo.start()
        echo_pids[name] = echo.pid
        await observer.wait_for(rooms[name], joined(account.user_id))
    bot = botproc.regiobot(work / "bot.toml", work / "bot.log")
    stack.callback(bot.stop)
    ready_s = await bot.start()
    await observer.wait_for(
        rooms[REGIOBOT], lambda e: e["sender"] == bot_account.user_id and e.get("type") == "m.room.message"
    )
    b = Bench(
        args=args,
        work=work,
        server=server,
        report=Report(),
        admin=admin,
        probe=probe,
        bot_account=bot_account,
        people=people,
        observer=observer,
        clients=clients,
        rooms=rooms,
        settings=settings,
        config=config,
        db_file=db_file,
        sessions={"round_trip": round_trip, "mine": mine},
        burst_sessions=bursting,
        bot=bot,
        echo_pids=echo_pids,
        imports=breakdown,
        libraries_mb=imports.libraries_mb(breakdown[0]),
        stack=stack,
    )
    b.figures["startup_s"] = {"empty": round(ready_s, 2)}
    await asyncio.sleep(REST_S)
    b.rest_mb["empty"] = botproc.rss_mb(bot.pid)
    b.figures["echo_bots_idle_mb"] = {name: round(botproc.rss_mb(pid), 1) for name, pid in b.echo_pids.items()}
    return b


async def round_trips(b: Bench) -> None:
    """Each command in turn to regiobot and to the echo bot."""
    commands = [c.format_map(b.sessions) for c in ROUND_TRIP_COMMANDS]
    rooms = {REGIOBOT: b.rooms[REGIOBOT], ECHO: b.rooms[ECHO]}
    async with profiled(b.bot.pid, b.args.profile and b.args.profile / "round-trips.txt"):
        times = await scenarios.round_trips(b.observer, rooms, commands, b.args.samples)
    figures = {c: {name: summary(t) for name, t in by_bot.items()} for c, by_bot in times.items()}
    b.figures["round_trip"] = figures
    for command, by_bot in figures.items():
        ratio_row(b.report, f"round trip {command.split(' #')[0]}", by_bot[REGIOBOT], by_bot[ECHO], ROUND_TRIP_TARGET)


async def bursts(b: Bench) -> None:
    """Every person sends `!anmelden` within a second: to the typical echo bot once, then in turn
    to the parallel echo bot and to regiobot, `BURST_PAIRS` times (a new session each time, and
    each time every person's first registration, with the privacy notice)."""
    people = {c.user_id for c in b.clients}
    forks: dict[str, list[int]] = {ECHO: [], PARALLEL_ECHO: [], REGIOBOT: []}

    async def settled(name: str) -> None:  # each burst in a room of one forward extremity
        forks[name].append(await scenarios.settle(b.hs, b.admin.access_token, b.rooms[name]))

    typical = await scenarios.burst(b.observer, b.clients, b.rooms[ECHO], f"!anmelden #{b.burst_sessions[0]}")
    await asyncio.sleep(2)
    await settled(ECHO)
    logged = len(b.bot.output())
    pairs: list[tuple[scenarios.Burst, scenarios.Burst]] = []
    checks = []
    rss_mb: list[float] = []  # beyond the libraries floor, at rest after each of regiobot's bursts
    for n, session in enumerate(b.burst_sessions, start=1):
        body = f"!anmelden #{session}"
        floor = await scenarios.burst(b.observer, b.clients, b.rooms[PARALLEL_ECHO], body)
        await asyncio.sleep(2)
        await settled(PARALLEL_ECHO)
        scenarios.forget_privacy_notices(b.db_file, people)
        async with profiled(b.bot.pid, b.args.profile and b.args.profile / f"burst-{n}.txt"):
            mine = await scenarios.burst(b.observer, b.clients, b.rooms[REGIOBOT], body)
        await asyncio.sleep(REST_S)
        await settled(REGIOBOT)
        rss_mb.append(botproc.rss_mb(b.bot.pid) - b.libraries_mb)
        if n == 1:  # the target's burst; the others repeat it for the time
            b.after_work("after the burst")
        rows = scenarios.registrations(b.db_file, session)
        checks.append(_check_burst(b.observer, b.rooms[REGIOBOT], mine, rows, people))
        pairs.append((mine, floor))
    fills, fetched = b.bot.gap_fills(logged)
    ratio = statistics.median(mine.last_answer_s / floor.last_answer_s for mine, floor in pairs)
    regiobot_s = statistics.median(mine.last_answer_s for mine, _ in pairs)
    unanswered = sum(floor.unanswered for _, floor in pairs)
    wrong = [check for check in checks if not check["correct"]]
    shown = (wrong or checks)[0]  # the first wrong burst, else the first
    b.figures["burst"] = {
        **shown,
        "correct": not wrong,
        "regiobot_s": round(regiobot_s, 2),
        "parallel_echo_s": round(statistics.median(floor.last_answer_s for _, floor in pairs), 2),
        "echo_s": round(typical.last_answer_s, 2),
        "ratio": round(ratio, 2),
        "pairs": [
            {"regiobot_s": round(m.last_answer_s, 2), "parallel_echo_s": round(f.last_answer_s, 2)} for m, f in pairs
        ],
        "echo_unanswered": {ECHO: typical.unanswered, PARALLEL_ECHO: unanswered},
        "gap_fills": fills,
        "gap_fill_events": fetched,
        "own_mb_after_each": [round(mb, 1) for mb in rss_mb],
        "forward_extremities_after_each": forks,
    }
    what = f"burst: {len(b.clients)} × !anmelden, last answer"
    each = ", ".join(f"{m.last_answer_s:.2f} / {f.last_answer_s:.2f} s" for m, f in pairs)
    b.report.check(
        f"{what} vs the {PARALLEL_ECHO} bot ({len(pairs)} in turn)",
        f"≤ {BURST_TARGET} × floor (median)",
        f"{each} = median {ratio:.2f} ×" + (f" ({unanswered} unanswered)" if unanswered else ""),
        ratio <= BURST_TARGET,
    )
    b.report.check(
        f"{what} vs the {ECHO} bot",
        "(informative)",
        f"median {regiobot_s:.2f} s / floor {typical.last_answer_s:.2f} s = {regiobot_s / typical.last_answer_s:.2f} ×"
        + (f" ({typical.unanswered} unanswered)" if typical.unanswered else ""),
        None,
    )
    b.report.check(
        "burst: places, waiting list, order, answers",
        f"{min(CAPACITY, len(people))} + {max(0, len(people) - CAPACITY)}, server order, 1 answer each",
        f"{shown['registered']} + {shown['waitlisted']}, order {'ok' if shown['order_ok'] else 'WRONG'}, "
        f"unanswered {shown['unanswered']}, duplicate answers {shown['duplicate_answers']}"
        + (f" ({len(checks) - len(wrong)} of {len(checks)} bursts right)" if wrong else f" (each of {len(checks)})"),
        not wrong,
    )
    b.report.check("burst: gap fills (/messages)", "0", f"{fills} ({fetched} events fetched)", fills == 0)
    b.report.check(
        "burst: forward extremities each burst left in its room (forks)",
        "(informative; cleared after each)",
        "; ".join(f"{name} {', '.join(map(str, counts))}" for name, counts in forks.items()),
        None,
    )
    b.report.check(
        "burst: memory after each burst (RSS beyond the floor)",
        "(informative; the first is checked below)",
        ", ".join(f"{mb:.1f}" for mb in rss_mb) + " MB",
        None,
    )


async def seeded_start(b: Bench) -> None:
    """Sessions, registrations and board entries written into the database; the start with them,
    and the memory at rest."""
    b.bot.stop()
    db = Database(b.config.storage_url)
    try:
        print(f"seeding {b.args.sessions:,} sessions, {b.args.registrations:,} registrations …", flush=True)
        await seed.bulk(db, b.rooms[REGIOBOT], b.args.sessions, b.args.registrations)
        print(f"seeding {b.args.entries:,} board entries …", flush=True)
        await seed.board_entries(db, b.args.entries)
    finally:
        await db.close()
    ready_s = await b.bot.start()
    b.figures["startup_s"]["seeded"] = round(ready_s, 2)
    await asyncio.sleep(REST_S)
    b.rest_mb["seeded"] = botproc.rss_mb(b.bot.pid)
    b.report.check(
        f"start with {b.args.sessions:,} sessions: process start → answering",
        f"≤ {START_S} s",
        f"{ready_s:.2f} s (empty database {b.figures['startup_s']['empty']:.2f} s)",
        ready_s <= START_S,
    )


def prepare_lead(direct_rooms: int) -> timedelta:
    """Reminders are planned long before they are due; the bot prepares their direct rooms a few
    minutes ahead. The benchmark's reminders are due this long after the bot is ready: time
    enough for that (a room took up to 0.35 s on the loaded machine)."""
    return timedelta(seconds=10 + 0.25 * direct_rooms)


async def fan_out(b: Bench) -> None:
    """A reminder by direct message to every person written into the database, the bot restarted
    to take it up; the time from the due time to the last message delivered."""
    b.bot.stop()
    db = Database(b.config.storage_url)
    lead = timedelta(seconds=b.figures["startup_s"]["seeded"]) + b.config.remind_before[0] + prepare_lead(len(b.people))
    try:
        people = [p.user_id for p in b.people]
        session, due_at = await seed.reminded_session(db, b.config, b.rooms[REGIOBOT], lead, people)
    finally:
        await db.close()
    await b.bot.start()
    print(f"reminder fan-out, due in {(due_at - datetime.now(UTC)).total_seconds():.0f} s …", flush=True)
    # The bench room and a direct room per person: when the bot is in all of them, it has made them.
    making = asyncio.create_task(
        scenarios.rooms_joined(b.hs, b.admin.access_token, b.bot_account.user_id, 1 + len(b.people))
    )
    # Profiled from a little before the due time (not the preparation ahead) to the last one sent.
    await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - PROFILE_BEFORE_DUE_S))
    async with profiled(b.bot.pid, b.args.profile and b.args.profile / "fan-out.txt"):
        sent = await scenarios.wait_for_reminders(b.db_file, session, len(b.people), timeout=180)
    await asyncio.wait({making}, timeout=30)
    making.cancel()
    made_s = (making.result() - due_at).total_seconds() if making.done() and not making.cancelled() else None
    delivered = await scenarios.delivery_times(b.hs, b.admin.access_token, b.bot_account.user_id, set(sent))
    last_s = (max(delivered) - due_at).total_seconds() if delivered else float("nan")
    # The floor: what the homeserver takes for as many messages into the same rooms from the same
    # account, sent at once by a plain client right after (under the same load).
    floor_s = await scenarios.send_to_each(
        b.hs, b.bot_account.access_token, scenarios.direct_rooms(b.db_file), FAN_OUT_FLOOR_BODY, "floor"
    )
    b.figures["fan_out"] = {
        "recipients": len(b.people),
        "sent": len(sent),
        "delivered_found": len(delivered),
        "last_delivered_after_due_s": round(last_s, 2),
        "first_delivered_after_due_s": round((min(delivered) - due_at).total_seconds(), 2) if delivered else None,
        "direct_rooms_made_after_due_s": None if made_s is None else round(made_s, 1),
        "homeserver_floor_s": round(floor_s, 2),
    }
    # Made after the due time: the machine was too loaded for the lead (see `prepare_lead`).
    made = (
        "not all"
        if made_s is None
        else f"{-made_s:.0f} s before due"
        if made_s < 0
        else f"{made_s:.0f} s AFTER due: lead too short for the load"
    )
    b.report.check(
        f"fan-out: reminder DMs to {len(b.people)}",
        f"all delivered, last ≤ {FAN_OUT_TARGET_S:.0f} s after due",
        f"{len(delivered)} delivered, last {last_s:.1f} s after due (direct rooms made {made})",
        len(delivered) == len(b.people) and last_s <= FAN_OUT_TARGET_S,
    )
    b.report.check(
        f"fan-out: reminder DMs to {len(b.people)} against the homeserver's floor",
        "(informative)",
        f"{last_s:.1f} s / floor {floor_s:.1f} s = {last_s / floor_s:.2f} × (the floor: as many notices"
        " into the same rooms, sent at once by a plain client)",
        None,
    )
    await asyncio.sleep(REST_S)  # at rest after the work, as after the burst
    b.after_work("after the fan-out")


async def scale(b: Bench) -> None:
    """`!termine`, `!meine` and `!markt` on the seeded database against the echo bot."""
    commands = [*SCALE_COMMANDS, MARKET_COMMAND]
    rooms = {REGIOBOT: b.rooms[REGIOBOT], ECHO: b.rooms[ECHO]}
    async with profiled(b.bot.pid, b.args.profile and b.args.profile / "scale.txt"):
        times = await scenarios.round_trips(b.observer, rooms, commands, b.args.samples)
    figures: dict[str, Any] = {c: {name: summary(t) for name, t in by_bot.items()} for c, by_bot in times.items()}
    b.figures["scale"] = figures
    market = figures[MARKET_COMMAND]
    ratio_row(
        b.report, f"{MARKET_COMMAND} with {b.args.entries:,} entries", market[REGIOBOT], market[ECHO], MARKET_TARGET
    )
    empty_db = b.figures["round_trip"]
    for command in SCALE_COMMANDS:
        big, empty = figures[command][REGIOBOT]["median_ms"], empty_db[command][REGIOBOT]["median_ms"]
        floor_big, floor_empty = figures[command][ECHO]["median_ms"], empty_db[command][ECHO]["median_ms"]
        # The machine is shared: the floor measured alongside tells how much of a change is load.
        normalised = (big / floor_big) / (empty / floor_empty)
        figures[command]["vs_empty"] = {"raw": round(big / empty, 2), "floor_normalised": round(normalised, 2)}
        b.report.check(
            f"scale: {command} with {b.args.sessions:,} sessions",
            f"≤ {SCALE_TARGET} × empty db",
            f"{big:.0f} ms / {empty:.0f} ms = {big / empty:.2f} ×; against the floor "
            f"({floor_big:.0f} / {floor_empty:.0f} ms) {normalised:.2f} ×",
            normalised <= SCALE_TARGET,
        )


async def rate_limit(b: Bench) -> None:
    """A reminder to a few of those who just got one, written into the database while the bot
    runs (its sweep takes it up), due shortly after; the bot under Synapse's default message limit
    from then on."""
    what = f"rate limit: {RATE_LIMITED_DMS} reminder DMs, Synapse's default limit"
    if b.args.quick:
        b.skip(what, "--quick: it waits for the bot's sweep, then about 100 s of pacing")
        return
    db = Database(b.config.storage_url)
    try:
        people = [p.user_id for p in b.people[:RATE_LIMITED_DMS]]
        lead = b.config.remind_before[0] + RATE_LIMITED_LEAD
        session, due_at = await seed.reminded_session(db, b.config, b.rooms[REGIOBOT], lead, people)
    finally:
        await db.close()
    hs, token, bot_id = b.hs, b.admin.access_token, b.bot_account.user_id
    await scenarios.exempt(hs, token, bot_id, exempt=False)
    ahead_s = (due_at - datetime.now(UTC)).total_seconds()
    print(f"{RATE_LIMITED_DMS} reminder DMs under the default message rate limit, due in {ahead_s:.0f} s …", flush=True)
    sent = await scenarios.wait_for_reminders(b.db_file, session, RATE_LIMITED_DMS, timeout=400)
    await scenarios.exempt(hs, token, bot_id)
    delivered = await scenarios.delivery_times(hs, token, bot_id, set(sent))
    limited_s = (max(delivered) - due_at).total_seconds() if delivered else float("nan")
    b.figures["fan_out"]["rate_limited"] = {
        "recipients": RATE_LIMITED_DMS,
        "delivered_found": len(delivered),
        "last_delivered_after_due_s": round(limited_s, 2),
        "limit_set_s_before_due": round(ahead_s, 1),
    }
    b.report.check(
        what,
        "all delivered, paced (time reported)",
        f"{len(delivered)} delivered, last {limited_s:.1f} s after due"
        + ("" if ahead_s > 0 else " (limit set after the due time)"),
        len(delivered) == RATE_LIMITED_DMS and ahead_s > 0,
    )


async def outbox(b: Bench) -> None:
    """The round trips again with `/metrics` on: the outbox's share of them."""
    b.bot.stop()
    port = free_port()  # /metrics only now: its server would count in the memory measured before
    botproc.write_toml({**b.settings, "metrics": {"listen": f"127.0.0.1:{port}"}}, b.work / "bot.toml")
    await b.bot.start()
    await asyncio.sleep(2)
    commands = [c.format_map(b.sessions) for c in ROUND_TRIP_COMMANDS]
    outbox_ms, round_trip_ms = await scenarios.outbox_share(
        b.observer, b.rooms[REGIOBOT], commands, b.args.samples, f"http://127.0.0.1:{port}/metrics"
    )
    b.bot.stop()
    b.figures["outbox"] = {"write_ms_per_command": round(outbox_ms, 3), "round_trip_ms": round(round_trip_ms, 1)}
    b.report.check(
        "outbox: writing the answer and the record",
        f"≤ {OUTBOX_SHARE:.0%} of the round trip",
        f"{outbox_ms:.2f} ms per command / median round trip {round_trip_ms:.0f} ms = {outbox_ms / round_trip_ms:.1%}",
        outbox_ms / round_trip_ms <= OUTBOX_SHARE,
    )


async def takeover(b: Bench) -> None:
    """The standby on PostgreSQL taking over from a killed active bot."""
    what = "standby takeover: lock held → answering"
    if b.args.quick:
        b.skip(what, "--quick: a PostgreSQL cluster of its own and two more bots")
        return
    if reason := postgres_unavailable():
        b.report.check(what, f"≤ {START_S} s", f"not measured: {reason}", None)
        return
    times = await standby.takeover(b.work, b.settings, b.config.storage_url)
    b.figures["startup_s"].update(times)
    b.report.check(
        what,
        f"≤ {START_S} s",
        f"{times['lock_to_ready_s']:.2f} s (kill → answering {times['kill_to_ready_s']:.1f} s)",
        times["lock_to_ready_s"] <= START_S,
    )


async def encrypted_room(b: Bench) -> None:
    """A wave of `--members` members with a device each joins an encrypted room (bench.encrypted)."""
    figures = await encrypted.run(b.server, b.work / "encrypted", b.report, b.args.members)
    b.work_mb[f"{b.args.members} encrypted members"] = figures["rss_mb"]["regiobot"]
    b.figures["encrypted_room"] = figures


async def many_direct_chats(b: Bench) -> None:
    """Start and takeover with `--chats` direct chats, on a homeserver of their own (bench.direct_chats)."""
    if b.args.chats_from:
        work, reuse = b.args.chats_from, True
    else:
        (work := b.work / "direct").mkdir()
        reuse = False
    figures = await direct_chats.run(b.args.chats, work, reuse=reuse, standby_too=not b.args.quick)
    for row in direct_chats.verdicts(figures):
        b.report.check(*row)
    b.work_mb[f"start with {b.args.chats:,} direct chats"] = figures["rss_after_start_mb"]
    b.figures["direct_chats"] = figures


async def board_matching(b: Bench) -> None:
    """Matching new board entries on a board of `--entries` long entries (bench.board)."""
    matching = await board.run(b.args.entries, board.LENGTH, board.SAMPLES)
    b.figures["board_matching"] = {k: round(v, 1) for k, v in asdict(matching).items()}
    b.report.check(
        f"board matching: {b.args.entries:,} entries of {board.LENGTH:,} characters",
        f"≤ {board.TARGET_MS:.0f} ms",
        matching.measured(),
        matching.met,
    )


async def memory(b: Bench) -> None:
    """The bot's resident set beyond the libraries floor: at rest, after each piece of work (the
    phases note theirs in `Bench.work_mb`), and seeded against empty."""
    floor = b.libraries_mb
    own = {label: mb - floor for label, mb in b.rest_mb.items()}
    after = {label: mb - floor for label, mb in b.work_mb.items()}
    b.figures["memory"] = {
        "libraries_floor_mb": round(floor, 1),
        "rest_rss_mb": {k: round(v, 1) for k, v in b.rest_mb.items()},
        "after_work_rss_mb": {k: round(v, 1) for k, v in b.work_mb.items()},
        "echo_bots_idle_mb": b.figures.pop("echo_bots_idle_mb"),
    }
    b.report.check(
        "memory at rest: RSS beyond the libraries floor",
        f"≤ {REST_MB:.0f} MB",
        f"{own['empty']:.1f} MB (RSS {b.rest_mb['empty']:.1f} MB − floor {floor:.1f} MB)",
        own["empty"] <= REST_MB,
    )
    if after:
        b.report.check(
            "memory after the work: RSS beyond the floor",
            f"≤ {WORK_MB:.0f} MB each",
            ", ".join(f"{label} {mb:.1f} MB" for label, mb in after.items()),
            max(after.values()) <= WORK_MB,
        )
    if "seeded" not in own:  # a run `--only` of phases that did not seed
        return
    difference = own["seeded"] - own["empty"]
    b.report.check(
        f"memory at rest, {b.args.sessions:,} sessions / {b.args.registrations:,} registrations vs empty",
        f"± {SEEDED_MB:.0f} MB",
        f"{own['seeded']:.1f} MB vs {own['empty']:.1f} MB = {difference:+.1f} MB",
        abs(difference) <= SEEDED_MB,
    )


# The phases in their order; each gets the run's `Bench`. A scenario module adds its phase here;
# phases that note the bot's memory after their work (`Bench.after_work`) come before `memory`.
PHASES: tuple[Phase, ...] = (
    round_trips,
    bursts,
    seeded_start,
    fan_out,
    scale,
    rate_limit,
    outbox,
    takeover,
    encrypted_room,
    many_direct_chats,
    board_matching,
    memory,
)


async def run(args: argparse.Namespace) -> None:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="regiobench-"))
    print(f"working in {work}", flush=True)
    async with AsyncExitStack() as stack:
        b = await setup(args, work, stack)
        durations = {"setup": round(time.monotonic() - started, 1)}
        for phase in chosen_phases(args.only):
            print(f"{phase.__name__.replace('_', ' ')} …", flush=True)
            begun = time.monotonic()
            await phase(b)
            durations[phase.__name__] = round(time.monotonic() - begun, 1)
        b.report.figures = {
            **b.figures,
            "skipped": b.skipped,
            "phase_seconds": durations,
            "memory_by_library_mb": {
                "at_start": {r.label: round(r.mb, 1) for r in b.imports[0]},
                "on_first_use": {r.label: round(r.mb, 1) for r in b.imports[1]},
            },
        }
        params = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        full = not args.only and all(getattr(args, name) == size for name, size in FULL.items())
        b.report.write(params, RESULTS if full else LOCAL_RESULTS)
        print()
        print(b.report.table())
        print()
        print(imports.table(*b.imports))
        print()
        print("seconds per phase:", ", ".join(f"{name.replace('_', ' ')} {s:.0f}" for name, s in durations.items()))
        print(f"the whole run: {time.monotonic() - started:.0f} s")


def _check_burst(
    observer: Observer, room_id: str, result: scenarios.Burst, rows: list[tuple[str, str]], senders: set[str]
) -> dict[str, Any]:
    """Places and waiting list against the order in which the homeserver received the commands."""
    wanted = set(result.event_ids)
    server_order = [e["sender"] for e in observer.timeline.get(room_id, []) if e.get("event_id") in wanted]
    db_order = [user for user, _ in rows]
    statuses = [status for _, status in rows]
    registered, waitlisted = statuses.count("registered"), statuses.count("waitlisted")
    order_ok = db_order == server_order and statuses == ["registered"] * registered + ["waitlisted"] * waitlisted
    duplicates = sum(len(observer.replies.get(e, [])) > 1 for e in result.event_ids)
    unanswered = sum(e not in observer.replies for e in result.event_ids)
    places = min(CAPACITY, len(senders))
    correct = (
        registered == places
        and waitlisted == len(senders) - places
        and order_ok
        and len(set(db_order)) == len(db_order)
        and duplicates == 0
        and unanswered == 0
    )
    return {
        "registered": registered,
        "waitlisted": waitlisted,
        "order_ok": order_ok,
        "unanswered": unanswered,
        "duplicate_answers": duplicates,
        "timeline_seen": len(server_order),
        "correct": correct,
    }


if __name__ == "__main__":
    asyncio.run(run(arguments()))
