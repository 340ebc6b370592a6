"""The floor: a minimal matrix-nio bot that answers every message with a reply notice.

No regiobot code; run as its own process (`python -m bench.echo URL USER_ID TOKEN DEVICE`),
like regiobot, so both pay for their own event loop. By default it is the typical nio bot: nio
awaits each callback, so it answers one message after another. With `--parallel` it sends every
answer at once (a task per answer): the fastest any bot can answer through the homeserver. With
`--store DIR` it reads and answers encrypted rooms, sharing its room key when it answers, as a
typical nio bot does.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, MatrixRoom, RoomMessageText


async def serve(
    homeserver: str, user_id: str, token: str, device_id: str, parallel: bool = False, store: str = ""
) -> None:
    config = AsyncClientConfig(encryption_enabled=bool(store), store_sync_tokens=False)
    client = AsyncClient(homeserver, user_id, store_path=store, config=config)
    client.restore_login(user_id, device_id, token)
    started_ms = int(time.time() * 1000)
    sending: set[asyncio.Task[Any]] = set()

    def send(answer: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(answer)
        sending.add(task)
        task.add_done_callback(sending.discard)

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == user_id or event.server_timestamp < started_ms:
            return
        content = {
            "msgtype": "m.notice",
            "body": event.body,
            "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
        }
        answer = client.room_send(room.room_id, "m.room.message", content, ignore_unverified_devices=True)
        if parallel:
            send(answer)
        else:
            await answer

    client.add_event_callback(on_invite, InviteMemberEvent)
    client.add_event_callback(on_message, RoomMessageText)
    print("ready", flush=True)
    # A timeline long enough that a burst never comes back "limited" (with messages left out).
    await client.sync_forever(timeout=30_000, full_state=True, sync_filter={"room": {"timeline": {"limit": 1000}}})


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.echo", description=__doc__)
    for name in ("homeserver", "user_id", "token", "device_id"):
        parser.add_argument(name)
    parser.add_argument("--parallel", action="store_true", help="send every answer at once (a task per answer)")
    parser.add_argument("--store", default="", help="encryption store directory: read and answer encrypted rooms")
    return parser.parse_args()


if __name__ == "__main__":
    args = arguments()
    asyncio.run(serve(args.homeserver, args.user_id, args.token, args.device_id, args.parallel, args.store))
