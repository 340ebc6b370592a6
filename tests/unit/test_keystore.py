"""The encryption store's secret key: a store written with matrix-nio's built-in key is
re-encrypted with the configured one; a wrong key is recognised (bot/keystore.py)."""

from __future__ import annotations

from nio.crypto import OlmAccount
from nio.store import DefaultStore

from bot.keystore import NIO_DEFAULT_KEY, StoreState, rekey_store, store_state

USER, DEVICE = "@bot:localhost", "REGIOBOT"
KEY = "a-secret-store-key-for-tests"


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
