"""What nio is given of a sync: the bot's own messages are taken out, everything else stays."""

from __future__ import annotations

from typing import Any

from bot.matrix import without_own_messages

BOT = "@regiobot:localhost"


def event(sender: str, kind: str = "m.room.message", state_key: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": kind, "sender": sender, "event_id": f"${sender}{kind}", "content": {}}
    if state_key is not None:
        found["state_key"] = state_key
    return found


def test_the_bots_own_messages_are_taken_out_of_the_rooms_it_is_in():
    answer, reaction = event(BOT), event(BOT, "m.reaction")
    encrypted_copy = event(BOT, "m.room.encrypted")
    own_state = event(BOT, "m.room.member", state_key=BOT)
    command = event("@anna:localhost")
    removal = event("@anna:localhost", "m.room.member", state_key=BOT)
    body = {
        "next_batch": "s2",
        "rooms": {
            "join": {
                "!a:localhost": {
                    "timeline": {"events": [command, answer, own_state, reaction], "limited": True, "prev_batch": "p"},
                    "state": {"events": [own_state]},
                },
                "!dm:localhost": {"timeline": {"events": [encrypted_copy]}},
                "!quiet:localhost": {"timeline": {"events": []}},
            },
            "leave": {"!left:localhost": {"timeline": {"events": [removal, answer]}}},
        },
    }
    kept = without_own_messages(body, BOT)
    joined = kept["rooms"]["join"]
    assert joined["!a:localhost"]["timeline"] == {"events": [command, own_state], "limited": True, "prev_batch": "p"}
    assert joined["!a:localhost"]["state"] == {"events": [own_state]}
    assert joined["!dm:localhost"]["timeline"]["events"] == []
    assert kept["rooms"]["leave"]["!left:localhost"]["timeline"]["events"] == [removal, answer]
    assert kept["next_batch"] == "s2"


def test_a_sync_without_rooms_is_left_as_it_is():
    assert without_own_messages({"next_batch": "s1"}, BOT) == {"next_batch": "s1"}
    assert without_own_messages({"next_batch": "s1", "rooms": {"invite": {}}}, BOT)["rooms"] == {"invite": {}}
