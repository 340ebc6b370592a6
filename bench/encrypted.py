"""Encrypted rooms the size of a region: a wave of members joins an encrypted official room, each
with a real device (keys and one-time keys published, as Element does); then the first command.

The bot shares its room key with the new devices in the background when they join; the floor is
an encrypted echo bot (nio as a typical bot uses it: it shares its key when it answers), in an
encrypted room of its own that the same members join, measured in the same run (the echo bot
first, then the bot: each wave meets an idle machine). Measured: the first answer after the joins
against the echo bot's, and against the warm answers after it; the bot's key sharing, from the
last join to its room key at the members' devices; the bot's memory after; and that the members'
devices decrypt every answer.

A first answer is one sample, so there are `WAVES` waves, each into a pair of rooms of its own
(the same members join them all); the verdicts are the medians of the waves' ratios. The first
wave meets devices neither bot has a session with yet (both claim their one-time keys); the
memory is read after it.

Each bot answers one command in each of its rooms before the waves: a process that has answered
before, as one that has run for days (its first command ever costs more, for reasons that have
nothing to do with keys).

`python -m bench.encrypted --members 50` runs it alone, on a Synapse of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nio import AsyncClient, JoinResponse, KeysUploadResponse, RoomCreateResponse, RoomPreset, RoomSendResponse

from bench import botproc, scenarios
from bench.clients import Observer, client_for, replied_to, round_trip
from bench.homeserver import Account, register_many, register_one, start_synapse
from bench.report import Report
from bot.devserver import Synapse
from bot.matrix import ENCRYPTION_STATE

FIRST_TARGET = 1.2  # the first answer: × the encrypted echo bot's, and × the warm answer
WAVES = 3  # waves of joins, each into rooms of their own: the verdicts are medians over them
COMMAND = "!termine"
WARM_SAMPLES = 9
# After the probe saw every join: time for each bot to learn the new devices (5 s for 300 members).
SETTLE_S_PER_MEMBER, SETTLE_S_LEAST = 5.0 / 300, 1.0
LISTENERS = 3  # members whose devices sync: the first, the middle and the last to join
PARALLEL = 8  # devices set up, and joins, side by side
WAIT_S = 180.0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.encrypted", description=__doc__)
    parser.add_argument("--members", type=int, default=300, help="members with a device of their own")
    return parser.parse_args()


async def run(server: Synapse, work: Path, report: Report, members: int = 300) -> dict[str, Any]:
    """The scenario on `server` with accounts of its own, its files in `work`; adds its rows to
    `report` and returns its figures."""
    hs = server.url
    # Members' devices cannot read what was sent before they joined; nio warns of each such event.
    logging.getLogger("nio.crypto").setLevel(logging.ERROR)
    work.mkdir(parents=True, exist_ok=True)
    stores = work / "stores"
    admin = await register_one(server, "encadmin", admin=True)
    probe, echo_account, bot_account = [await register_one(server, name) for name in ("encprobe", "encecho", "encbot")]
    for account in (probe, echo_account, bot_account):
        await scenarios.exempt(hs, admin.access_token, account.user_id)
    print(f"encrypted rooms: {members} members with a device each, {WAVES} waves …", flush=True)
    people = await register_many(server, "encmember", members)
    observer = Observer(hs, probe, stores / "probe")
    listeners: list[Observer] = []
    joiners = [client_for(hs, p) for p in people]
    processes: list[botproc.Process] = []
    try:
        await observer.start()
        listeners = await publish_devices(hs, people, stores)
        rooms = {
            name: [await encrypted_room(observer.client, f"{title} {n + 1}", account.user_id) for n in range(WAVES)]
            for name, title, account in (
                ("echo", "Echo (verschlüsselt)", echo_account),
                ("regiobot", "Regiopol Akademie (verschlüsselt)", bot_account),
            )
        }
        echo = botproc.echo_bot(hs, echo_account, work / "echo.log", store=stores / "echo")
        processes.append(echo)
        await echo.start()
        await until(
            lambda: all(echo_account.user_id in joined_members(observer, room) for room in rooms["echo"]),
            "the echo bot's joins",
        )
        settings = botproc.bot_settings(hs, bot_account.user_id, bot_account.password, work / "bot")
        settings["rooms"] = dict.fromkeys(rooms["regiobot"], "beide")
        (work / "bot").mkdir(exist_ok=True)
        botproc.write_toml(settings, work / "bot.toml")
        await botproc.migrated(settings, work / "bot")
        bot = botproc.regiobot(work / "bot.toml", work / "bot.log")
        processes.append(bot)
        await bot.start()
        for room in rooms["regiobot"]:
            await observer.wait_for(
                room, lambda e: e["sender"] == bot_account.user_id and e.get("type") == "m.room.message"
            )  # its welcome, decrypted
        bot_before_mb = botproc.rss_mb(bot.pid)

        for room_id in [*rooms["echo"], *rooms["regiobot"]]:  # each has answered before, as a bot that runs for days
            await round_trip(observer, room_id, COMMAND)
        before = {e["event_id"] for room_ids in rooms.values() for r in room_ids for e in observer.timeline.get(r, [])}
        member_ids = {p.user_id for p in people}
        waves: dict[str, list[dict[str, float]]] = {"echo": [], "regiobot": []}
        for n in range(WAVES):
            waves["echo"].append(await wave_and_answers(observer, joiners, rooms["echo"][n], member_ids))
            waves["regiobot"].append(
                await wave_and_answers(
                    observer, joiners, rooms["regiobot"][n], member_ids, listeners, bot_account.user_id
                )
            )
            if n == 0:  # the memory after a room of `members`, as the target has it
                await asyncio.sleep(2)
                bot_mb, echo_mb = botproc.rss_mb(bot.pid), botproc.rss_mb(echo.pid)
        read = {
            name: await decrypted(listeners, observer, rooms[name], sender, before)
            for name, sender in (("regiobot", bot_account.user_id), ("echo", echo_account.user_id))
        }
    finally:
        for client in joiners:
            await client.close()
        for listener in [*listeners, observer]:
            await listener.close()
        for process in processes:
            process.stop()

    bot_waves, echo_waves = waves["regiobot"], waves["echo"]
    bot_figures, echo_figures = medians(bot_waves), medians(echo_waves)
    # Each wave's first answer against the echo bot's first and against the warm answers of the
    # same wave (the rooms gain members from wave to wave, and the homeserver's pace with them).
    vs_echo = statistics.median(b["first_s"] / e["first_s"] for b, e in zip(bot_waves, echo_waves, strict=True))
    vs_warm = statistics.median(b["first_s"] / b["warm_s"] for b in bot_waves)
    what = f"encrypted room, {members} members"
    report.check(
        f"{what}: first answer after the joins",
        f"≤ {FIRST_TARGET} × encrypted echo bot (median of {WAVES} waves)",
        f"{pairs(bot_waves, echo_waves, 'first_s', 'first_s')} = median {vs_echo:.2f} ×",
        vs_echo <= FIRST_TARGET,
    )
    report.check(
        f"{what}: first answer against a warm one",
        f"≤ {FIRST_TARGET} × warm (median of {WAVES} waves)",
        f"{pairs(bot_waves, bot_waves, 'first_s', 'warm_s')} = median {vs_warm:.2f} × (echo bot "
        f"{pairs(echo_waves, echo_waves, 'first_s', 'warm_s')})",
        vs_warm <= FIRST_TARGET,
    )
    report.check(
        f"{what}: key sharing, last join → key at the devices",
        "in the background (time reported)",
        f"{bot_figures['key_s']:.2f} s, median of {seconds(bot_waves, 'key_s')} (a wave of joins took "
        f"{bot_figures['wave_s']:.1f} s)",
        None,
    )
    answers, readable = read["regiobot"]
    report.check(
        f"{what}: members' devices decrypt the answers",
        "every answer, at each device",
        f"{readable} of {answers} (echo bot {read['echo'][1]} of {read['echo'][0]})",
        answers > 0 and readable == answers,
    )
    report.check(
        f"{what}: memory after (RSS)",
        "reported",
        f"{bot_mb:.0f} MB after the first wave, before the joins {bot_before_mb:.0f} MB (echo bot {echo_mb:.0f} MB)",
        None,
    )
    return {
        "members": members,
        "regiobot": {**bot_figures, "waves": bot_waves},
        "echo": {**echo_figures, "waves": echo_waves},
        "first_vs_echo": round(vs_echo, 2),
        "first_vs_warm": round(vs_warm, 2),
        "answers_at_devices": {name: {"expected": n, "decrypted": ok} for name, (n, ok) in read.items()},
        "rss_mb": {"regiobot": round(bot_mb, 1), "regiobot_before": round(bot_before_mb, 1), "echo": round(echo_mb, 1)},
    }


def medians(waves: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the waves."""
    return {key: round(statistics.median(w[key] for w in waves), 3) for key in waves[0]}


def seconds(waves: list[dict[str, float]], key: str) -> str:
    return ", ".join(f"{w[key]:.2f}" for w in waves) + " s"


def pairs(waves: list[dict[str, float]], others: list[dict[str, float]], key: str, other_key: str) -> str:
    """Each wave's `key` against the same wave's `other_key` in `others`, in seconds."""
    return ", ".join(f"{w[key]:.2f} / {o[other_key]:.2f} s" for w, o in zip(waves, others, strict=True))


async def publish_devices(hs: str, people: list[Account], stores: Path) -> list[Observer]:
    """Give each person a device whose keys and one-time keys are published (a store directory
    each), PARALLEL at a time. The devices of LISTENERS of them stay syncing (returned, in the
    order their people join); the others have nothing more to do."""
    picked = sorted({0, len(people) // 2, len(people) - 1})[:LISTENERS]
    listeners = {i: Observer(hs, people[i], stores / localpart(people[i])) for i in picked}
    limit = asyncio.Semaphore(PARALLEL)

    async def publish(i: int, account: Account) -> None:
        async with limit:
            if i in listeners:
                await listeners[i].start()  # publishes its keys first
                return
            client = client_for(hs, account, stores / localpart(account))
            try:
                uploaded = await client.keys_upload()
                assert isinstance(uploaded, KeysUploadResponse), uploaded
            finally:
                await client.close()

    await asyncio.gather(*(publish(i, a) for i, a in enumerate(people)))
    return [listeners[i] for i in picked]


async def encrypted_room(client: AsyncClient, name: str, bot_id: str) -> str:
    """A public encrypted room (members join without an invitation) with the bot invited."""
    response = await client.room_create(
        name=name, preset=RoomPreset.public_chat, invite=[bot_id], initial_state=[ENCRYPTION_STATE]
    )
    assert isinstance(response, RoomCreateResponse), response
    return str(response.room_id)


async def wave_and_answers(
    observer: Observer,
    joiners: list[AsyncClient],
    room_id: str,
    members: set[str],
    listeners: Sequence[Observer] = (),
    bot_id: str = "",
) -> dict[str, float]:
    """Everyone joins `room_id` (PARALLEL at a time); once the probe saw every join and a settle
    later (and, given `listeners`, once the bot's room key reached their devices), the first
    command, then WARM_SAMPLES more. The probe's own room key is shared, and a notice sent, before
    the first clock starts."""
    limit = asyncio.Semaphore(PARALLEL)

    async def join(client: AsyncClient) -> None:
        async with limit:
            response = await client.join(room_id)
            assert isinstance(response, JoinResponse), response

    started = time.perf_counter()
    await asyncio.gather(*(join(c) for c in joiners))
    ended = time.perf_counter()
    await until(lambda: members <= joined_members(observer, room_id), "every join at the probe")
    await asyncio.sleep(max(SETTLE_S_LEAST, SETTLE_S_PER_MEMBER * len(members)))
    figures = {"wave_s": round(ended - started, 2)}
    if listeners:
        await until(lambda: all(room_keys(x, room_id, bot_id, started) for x in listeners), "the bot's room key")
        latest = room_keys(listeners[-1], room_id, bot_id, started)[-1][1].session_id
        arrivals = [seen for x in listeners for seen, key in room_keys(x, room_id, bot_id, started)]
        key_at = max(
            seen for x in listeners for seen, key in room_keys(x, room_id, bot_id, started) if key.session_id == latest
        )
        figures["key_s"] = round(key_at - ended, 2)
        figures["keys_received"] = len(arrivals)
    await share_ahead(observer.client, room_id)
    # A notice (neither bot answers one) as the room's first event after the wave, a reply as the
    # answers are: it pays for the homeserver's cold caches of the new members (push rules), which
    # no bot can help.
    reply_to = {"m.in_reply_to": {"event_id": observer.timeline[room_id][-1]["event_id"]}}
    notice = {"msgtype": "m.notice", "body": "Willkommen!", "m.relates_to": reply_to}
    sent = await observer.client.room_send(room_id, "m.room.message", notice, ignore_unverified_devices=True)
    assert isinstance(sent, RoomSendResponse), sent
    await asyncio.sleep(1)
    first = await round_trip(observer, room_id, COMMAND)
    warm = []
    for _ in range(WARM_SAMPLES):
        await asyncio.sleep(0.2)
        warm.append(await round_trip(observer, room_id, COMMAND))
    return {**figures, "first_s": round(first, 3), "warm_s": round(statistics.median(warm), 3)}


async def share_ahead(client: AsyncClient, room_id: str) -> None:
    """The probe's room key shared with every member's device before the clock starts: the time
    measured is the bot's, not the sender's."""
    await client.joined_members(room_id)
    if client.should_query_keys:
        await client.keys_query()
    assert client.olm is not None
    if client.olm.should_share_group_session(room_id):
        await client.share_group_session(room_id, ignore_unverified_devices=True)


async def decrypted(
    listeners: Sequence[Observer], observer: Observer, room_ids: Sequence[str], sender: str, before: set[str]
) -> tuple[int, int]:
    """(answers expected at the listeners' devices, answers they decrypted): each of `sender`'s
    answers in `room_ids` the probe received (but those `before` the members joined), at each
    listener, waiting a while for those not there yet."""
    answers = {
        e["event_id"]
        for room_id in room_ids
        for e in observer.timeline.get(room_id, [])
        if e["sender"] == sender and replied_to(e) and e["event_id"] not in before
    }

    def readable() -> int:
        return sum(
            e.get("event_id") in answers and e.get("type") != "m.room.encrypted"
            for x in listeners
            for room_id in room_ids
            for e in x.timeline.get(room_id, [])
        )

    expected = len(answers) * len(listeners)
    deadline = time.monotonic() + 20
    while readable() < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return expected, readable()


def room_keys(listener: Observer, room_id: str, sender: str, since: float) -> list[tuple[float, Any]]:
    return [
        (seen, key)
        for seen, key in listener.room_keys
        if key.room_id == room_id and key.sender == sender and seen >= since
    ]


def joined_members(observer: Observer, room_id: str) -> set[str]:
    return {
        e["state_key"]
        for e in observer.timeline.get(room_id, [])
        if e.get("type") == "m.room.member" and e["content"].get("membership") == "join"
    }


def localpart(account: Account) -> str:
    return account.user_id[1:].split(":", 1)[0]


async def until(condition: Any, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.05)


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="regiobench-encrypted-"))
    print(f"working in {work}", flush=True)
    server = await start_synapse(work / "hs")
    try:
        report = Report()
        figures = await run(server, work, report, args.members)
        print(json.dumps(figures, indent=2))
        print()
        print(report.table())
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main(arguments()))
