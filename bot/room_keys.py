"""Encryption keys kept up to date beside the sync loop, not in its way.

After a sync nio knows whose device keys it must fetch (new members, changed devices), and it has
dropped the room key (the outbound Megolm session) of every encrypted room whose members changed.
`RoomKeys` does the key upkeep — upload our one-time keys, fetch device keys, claim keys, send
queued key messages — in one background task, so that a batch of commands is not held up by the
key query of a wave of joins. And where members or their devices changed, it shares a new room
key in the background once the room has been quiet for a moment (a wave of joins is one sharing):
the next message there is only a send. A send into an encrypted room waits only for the key query
of that room's members, so that someone who just joined can read the answer to their command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nio import AsyncClient, MatrixRoom, RoomMemberEvent, SyncResponse

log = logging.getLogger(__name__)

SETTLE = 1.0  # seconds without a change in a room before its new key is shared
SETTLE_AT_MOST = 10.0  # … but no later than this after the first change (a steady trickle of joins)


async def maintain_keys(client: AsyncClient) -> None:
    """Publish our keys, learn other devices' keys, pass on key messages (failures are logged)."""
    if client.olm is None:
        return
    try:
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()
    except Exception:
        log.warning("could not update encryption keys", exc_info=True)


class RoomKeys:
    """The key upkeep of one client, and its room keys shared ahead."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self._upkeep: asyncio.Task[None] | None = None
        self._again = False  # another round of upkeep is wanted
        self._in_round = False
        self._rounds = 0  # rounds of upkeep finished
        self._round_done = asyncio.Condition()
        self._changed_in_round: set[str] = set()
        self._due: dict[str, tuple[float, float]] = {}  # room → (first, last) change not yet shared
        self._sharing: dict[str, asyncio.Task[None]] = {}
        self._missed: set[str] = set()  # rooms whose key did not reach every device known now
        self._closed = False

    def after_sync(self, response: SyncResponse, first: bool = False) -> None:
        """Call once nio has taken in a sync: starts the upkeep, and plans a new room key for the
        rooms whose members or their devices changed (not after the first sync of a start: it
        shows every room as it is, not what changed)."""
        olm = self.client.olm
        if olm is None or self._closed:
            return
        if self._in_round:  # the key query in flight would drop these users from the next one
            self._changed_in_round |= set(response.device_list.changed) & olm.users_for_key_query
        self._kick()
        if not first:
            for room_id in self._changed_rooms(response):
                self._plan(room_id)

    async def known(self, room_id: str) -> None:
        """Wait until the device keys of the room's members have been fetched (or a round of
        upkeep begun after this call has tried); at once when none are missing."""
        olm = self.client.olm
        if olm is None or not olm.users_for_key_query:
            return
        room = self.client.rooms.get(room_id)
        if room is None or not room.encrypted:
            return

        def pending() -> bool:
            return not olm.users_for_key_query.isdisjoint(room.users)

        if self._closed or not pending():
            return
        self._kick()
        wanted = self._rounds + (2 if self._in_round else 1)
        async with self._round_done:
            await self._round_done.wait_for(lambda: self._closed or not pending() or self._rounds >= wanted)

    def busy_with(self, room_id: str) -> bool:
        """Whether a new room key for the room is planned or being shared."""
        return room_id in self._sharing

    async def share(self, room_id: str) -> int | None:
        """Share a new room key with the devices of the room's members, as nio's room_send would
        before its next message there — unless the room's key is shared already or being shared
        (then None; else the number of devices it went to).
        A send meanwhile waits for the sharing to end. If nio's sharing fails before it has begun
        (claiming one-time keys), nio would keep the room marked as being shared and every send
        would wait for good: the mark is cleared here, and the next send shares the key itself.
        Devices that became known while the key was shared did not get it: a new one is shared
        a moment later (dropped only then: a send that waited for the sharing still uses it)."""
        client = self.client
        room = client.rooms.get(room_id)
        if client.olm is None or room is None or not room.encrypted:
            return None
        if not room.members_synced:
            await client.joined_members(room_id)
        await self.known(room_id)
        if room_id in client.sharing_session:
            return None
        if room_id in self._missed:
            self._missed.discard(room_id)
            client.invalidate_outbound_session(room_id)
        if not client.olm.should_share_group_session(room_id):
            return None
        devices = self._devices(room)
        try:
            await client.share_group_session(room_id, ignore_unverified_devices=True)
        finally:
            if (stuck := client.sharing_session.pop(room_id, None)) is not None:
                stuck.set()
        if self._devices(room) - devices:
            self._missed.add(room_id)
            self._plan(room_id)
        return len(devices)

    async def close(self) -> None:
        """Cancel the upkeep and the sharing planned or under way."""
        self._closed = True
        tasks = [t for t in (self._upkeep, *self._sharing.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._round_done:
            self._round_done.notify_all()

    def _kick(self) -> None:
        self._again = True
        if self._upkeep is None or self._upkeep.done():
            self._upkeep = asyncio.create_task(self._keep_up())

    async def _keep_up(self) -> None:
        """Rounds of upkeep until no sync asked for another."""
        while self._again:
            self._again = False
            self._in_round = True
            try:
                await maintain_keys(self.client)
            finally:
                self._in_round = False
            if self._changed_in_round and self.client.olm is not None:
                self.client.olm.add_changed_users(self._changed_in_round)
                self._changed_in_round = set()
                self._again = True
            self._rounds += 1
            async with self._round_done:
                self._round_done.notify_all()

    def _changed_rooms(self, response: SyncResponse) -> set[str]:
        """The encrypted rooms of this sync whose members, or whose members' devices, changed."""
        rooms = {
            room_id
            for room_id, info in response.rooms.join.items()
            if any(isinstance(e, RoomMemberEvent) for e in (*info.state, *info.timeline.events))
        }
        if devices_changed := {*response.device_list.changed, *response.device_list.left}:
            rooms |= {r.room_id for r in self.client.rooms.values() if not devices_changed.isdisjoint(r.users)}
        return {r for r in rooms if (room := self.client.rooms.get(r)) is not None and room.encrypted}

    def _plan(self, room_id: str) -> None:
        """Share the room's key once it has been quiet for SETTLE seconds (one task per room)."""
        if self._closed:
            return
        now = asyncio.get_running_loop().time()
        first, _ = self._due.get(room_id, (now, now))
        self._due[room_id] = (first, now)
        if room_id not in self._sharing:
            self._sharing[room_id] = asyncio.create_task(self._share_when_settled(room_id))

    async def _share_when_settled(self, room_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while room_id in self._due:
                first, last = self._due[room_id]
                wait = min(last + SETTLE, first + SETTLE_AT_MOST) - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                del self._due[room_id]
                try:
                    devices = await self.share(room_id)
                except Exception:  # the room's next change, or the next send, tries again
                    log.warning("could not share the room key of %s", room_id, exc_info=True)
                    continue
                if devices is not None:
                    log.info(
                        "shared the room key of %s with %d devices, %.2f s after the last change",
                        room_id,
                        devices,
                        loop.time() - last,
                    )
        finally:
            self._sharing.pop(room_id, None)

    def _devices(self, room: MatrixRoom) -> set[tuple[str, str]]:
        store = self.client.device_store
        return {(user, device.id) for user in room.users for device in store.active_user_devices(user)}
