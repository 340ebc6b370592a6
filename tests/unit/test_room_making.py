"""Rooms the bot makes for a purpose (a board contact, a person's direct chat) are made once: a
second attempt, as after a crash between making a room and noting it, finds the first one."""

from __future__ import annotations

from typing import Any

import pytest
from nio import RoomCreateError, RoomCreateResponse, RoomResolveAliasResponse

from bot.matrix import Matrix, MatrixError

BOT, BERND, CLARA = "@regiobot:localhost", "@bernd:localhost", "@clara:localhost"


class RoomMakingClient:
    """Stands in for nio's client and the homeserver's room directory: an alias is given once."""

    def __init__(self, aliases_allowed: bool = True) -> None:
        self.user_id = BOT
        self.olm = None
        self.rooms: dict[str, Any] = {}  # the rooms the bot is in
        self.aliases: dict[str, str] = {}
        self.aliases_allowed = aliases_allowed
        self.made: list[str] = []

    def add_response_callback(self, *_: Any) -> None:
        pass

    async def room_create(self, alias: str | None = None, **_: Any) -> RoomCreateResponse | RoomCreateError:
        full = f"#{alias}:localhost"
        if alias is not None and not self.aliases_allowed:
            return RoomCreateError("Not allowed to create alias", "M_FORBIDDEN")
        if alias is not None and full in self.aliases:
            return RoomCreateError("Room alias already taken", "M_ROOM_IN_USE")
        room_id = f"!room{len(self.made) + 1}:localhost"
        self.made.append(room_id)
        if alias is not None:
            self.aliases[full] = room_id
        return RoomCreateResponse(room_id)

    async def room_resolve_alias(self, alias: str) -> RoomResolveAliasResponse:
        return RoomResolveAliasResponse(alias, self.aliases[alias], ["localhost"])


async def test_a_contact_room_made_again_for_the_same_contact_is_the_same_room():
    client = RoomMakingClient()
    matrix = Matrix(client, None, "store key")  # type: ignore[arg-type]

    first = await matrix.group_room([BERND, CLARA], "Kontakt A1", "contact:1")
    again = await matrix.group_room([BERND, CLARA], "Kontakt A1", "contact:1")
    other = await matrix.group_room([BERND, CLARA], "Kontakt A2", "contact:2")

    assert first == again != other and client.made == [first, other]
    assert all(alias.startswith("#regiobot-") and "contact" not in alias for alias in client.aliases)
    other_bot = Matrix(RoomMakingClient(), None, "another key")  # type: ignore[arg-type]
    await other_bot.group_room([BERND, CLARA], "Kontakt A1", "contact:1")
    assert set(other_bot.client.aliases).isdisjoint(client.aliases)  # derived with the bot's own secret


async def test_a_room_under_the_alias_that_the_bot_is_not_in_is_never_used():
    client = RoomMakingClient()
    matrix = Matrix(client, None, "store key")  # type: ignore[arg-type]
    first = await matrix.group_room([BERND, CLARA], "Kontakt A1", "contact:1")
    del client.rooms[first]  # the bot left it (or someone else made a room under the alias)

    with pytest.raises(MatrixError):
        await matrix.group_room([BERND, CLARA], "Kontakt A1", "contact:1")


async def test_a_homeserver_that_refuses_aliases_gets_rooms_without_one():
    client = RoomMakingClient(aliases_allowed=False)
    matrix = Matrix(client, None, "store key")  # type: ignore[arg-type]

    room_id = await matrix.group_room([BERND, CLARA], "Kontakt A1", "contact:1")

    assert client.made == [room_id] and not client.aliases
