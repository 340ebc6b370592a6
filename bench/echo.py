"""The floor: a minimal matrix-nio bot that answers every message with a reply notice.

No regiobot code; run as its own process (`python -m bench.echo URL USER_ID TOKEN DEVICE [STORE]`),
like regiobot, so both pay for their own event loop. Given a STORE directory it reads and answers
encrypted rooms, sharing its room key when it answers, as a typical nio bot does.
"""

from __future__ import annotations

import asyncio
import sys
import time

from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, MatrixRoom, RoomMessageText


async def serve(homeserver: str, user_id: str, token: str, device_id: str, store: str = "") -> None:
    config = AsyncClientConfig(encryption_enabled=bool(store), store_sync_tokens=False)
    client = AsyncClient(homeserver, user_id, store_path=store, config=config)
    client.restore_login(user_id, device_id, token)
    started_ms = int(time.time() * 1000)

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
        await client.room_send(room.room_id, "m.room.message", content, ignore_unverified_devices=True)

    client.add_event_callback(on_invite, InviteMemberEvent)  # type: ignore[arg-type]
    client.add_event_callback(on_message, RoomMessageText)  # type: ignore[arg-type]
    print("ready", flush=True)
    # A timeline long enough that a burst never comes back "limited" (with messages left out).
    await client.sync_forever(timeout=30_000, full_state=True, sync_filter={"room": {"timeline": {"limit": 1000}}})


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:6]))
