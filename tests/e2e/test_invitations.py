"""The cap on rooms one person can invite the bot into, against a real homeserver."""

from __future__ import annotations

import pytest
from sqlmodel import select

from rules import joining
from storage.models import OutboxMessage
from tests.e2e.faults import FaultProxy
from tests.e2e.people import Event, body, membership_of

pytestmark = pytest.mark.e2e
CAP = 2


async def test_an_invitation_beyond_the_cap_is_declined_and_explained_once(people, bot_config, run_bot, monkeypatch):
    monkeypatch.setattr(joining, "ROOMS_PER_INVITER", CAP)
    anna = await people("anna")
    bot = await run_bot(await bot_config())
    joined = []
    for _ in range(CAP):
        joined.append(await anna.create_room(invite=[bot.user_id]))
        await anna.wait_for(membership_of(bot.user_id, joined[-1], "join"))
    beyond = [await anna.create_room(invite=[bot.user_id]) for _ in range(2)]
    for room in beyond:
        await anna.wait_for(membership_of(bot.user_id, room, "leave"))

    def told(e: Event) -> bool:
        return e.get("sender") == bot.user_id and f"schon in {CAP} Räumen" in body(e)

    (message,) = await anna.wait_for(told)
    assert message["room_id"] not in beyond and message["encrypted"]  # the bot's own direct chat
    assert not any(membership_of(bot.user_id, room, "join")(e) for room in beyond for e in anna.events)
    assert bot.bot is not None
    async with bot.bot.db.transaction() as s:  # both declined before this: one message for the two
        to_anna = (await s.exec(select(OutboxMessage).where(OutboxMessage.user_id == anna.user_id))).all()
    assert len(to_anna) == 1

    # Removed from one of them, the bot has room for the next invitation.
    await anna.client.room_kick(joined[0], bot.user_id)
    room = await anna.create_room(invite=[bot.user_id])
    await anna.wait_for(membership_of(bot.user_id, room, "join"))


async def test_a_join_refused_for_a_passing_reason_is_tried_again(synapse, people, bot_config, run_bot):
    proxy = await FaultProxy(synapse.url, failing_joins=2).start()  # as while Synapse restarts
    try:
        anna = await people("anna")
        bot = await run_bot(await bot_config(matrix={"homeserver": proxy.url}))
        room = await anna.create_room(invite=[bot.user_id])  # the invitation comes in one sync only
        await anna.wait_for(membership_of(bot.user_id, room, "join"), timeout=30)
        assert proxy.refused == 2
        await bot.stop()
    finally:
        await proxy.stop()
