"""The encryption store's secret key: a store written with matrix-nio's built-in key is
re-encrypted with the configured one; a wrong key is recognised. And the store keeps no room key
of the bot's own, in memory or on disk (bot/keystore.py)."""

from __future__ import annotations

from nio.crypto import Olm, OlmAccount, OutboundGroupSession
from nio.store import DefaultStore

from bot.keystore import NIO_DEFAULT_KEY, CryptoStore, StoreState, rekey_store, store_state

USER, DEVICE = "@bot:localhost", "REGIOBOT"
KEY = "a-secret-store-key-for-tests"
ROOM, OTHER_ROOM = "!room:localhost", "!other:localhost"


def write_store(directory, key: str) -> dict[str, str]:
    """A store with an account, as nio writes it at first login; the account's identity keys."""
    store = DefaultStore(USER, DEVICE, str(directory), key)
    account = OlmAccount()
    store.save_account(account)
    store.database.close()
    return dict(account.identity_keys)


def identity(directory, key: str) -> dict[str, str]:
    store = DefaultStore(USER, DEVICE, str(directory), key)
    try:
        return dict(store.load_account().identity_keys)
    finally:
        store.database.close()


def test_a_new_store_is_left_alone(tmp_path):
    assert rekey_store(tmp_path, USER, DEVICE, KEY) == StoreState.NEW
    assert list(tmp_path.iterdir()) == []  # nothing created before nio does


def test_a_store_with_the_built_in_key_is_re_encrypted_with_the_secret_once(tmp_path):
    keys = write_store(tmp_path, NIO_DEFAULT_KEY)
    assert store_state(tmp_path, USER, DEVICE, KEY) == StoreState.BUILT_IN
    assert rekey_store(tmp_path, USER, DEVICE, KEY) == StoreState.BUILT_IN
    assert identity(tmp_path, KEY) == keys  # same device keys: nobody needs to verify the bot again
    assert (
        store_state(tmp_path, USER, DEVICE, NIO_DEFAULT_KEY) == StoreState.WRONG_KEY
    )  # the built-in key opens nothing
    assert rekey_store(tmp_path, USER, DEVICE, KEY) == StoreState.OK


def test_a_wrong_key_is_recognised_and_nothing_is_changed(tmp_path):
    keys = write_store(tmp_path, KEY)
    assert rekey_store(tmp_path, USER, DEVICE, "another-key-of-some-length") == StoreState.WRONG_KEY
    assert identity(tmp_path, KEY) == keys


def room_keys(olm: Olm) -> list[tuple[str, str]]:
    """(room, sender key) of the room keys nio holds to read messages."""
    return sorted((s.room_id, s.sender_key) for s in olm.inbound_group_store)


def a_members_room_key(olm: Olm, room: str) -> str:
    """A room key another device shared with the bot (as a to-device message brings it); its
    sender key."""
    sender = OlmAccount()
    session = OutboundGroupSession()
    keys = sender.identity_keys
    olm.create_group_session(keys["curve25519"], keys["ed25519"], room, session.id, session.session_key)
    return keys["curve25519"]


def test_the_bot_keeps_no_room_key_of_its_own_and_every_other(tmp_path):
    olm = Olm(USER, DEVICE, CryptoStore(USER, DEVICE, str(tmp_path), KEY))
    olm.create_outbound_group_session(ROOM)  # what nio does before the bot's first message there
    theirs = a_members_room_key(olm, ROOM)
    assert ROOM in olm.outbound_group_sessions  # it can still send
    assert room_keys(olm) == [(ROOM, theirs)]  # and read what the member sends
    olm.store.database.close()

    again = Olm(USER, DEVICE, CryptoStore(USER, DEVICE, str(tmp_path), KEY))
    assert room_keys(again) == [(ROOM, theirs)]
    again.store.database.close()


def test_room_keys_of_its_own_an_earlier_version_saved_are_deleted(tmp_path):
    before = Olm(USER, DEVICE, DefaultStore(USER, DEVICE, str(tmp_path), KEY))  # nio as it comes
    own = before.account.identity_keys["curve25519"]
    before.create_outbound_group_session(ROOM)
    before.create_outbound_group_session(OTHER_ROOM)
    theirs = a_members_room_key(before, ROOM)
    assert len(room_keys(before)) == 3
    before.store.database.close()

    after = Olm(USER, DEVICE, CryptoStore(USER, DEVICE, str(tmp_path), KEY))
    assert after.account.identity_keys["curve25519"] == own
    assert room_keys(after) == [(ROOM, theirs)]
    after.store.database.close()
    plain = DefaultStore(USER, DEVICE, str(tmp_path), KEY)  # deleted from the file, not only skipped
    assert [(s.room_id, s.sender_key) for s in plain.load_inbound_group_sessions()] == [(ROOM, theirs)]
    plain.database.close()
