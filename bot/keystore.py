"""The encryption store's secret key (`[matrix] store_key` / `REGIOBOT_STORE_KEY`).

matrix-nio encrypts the keys it keeps in `store_dir` with a "pickle key"; left alone that is its
built-in `DEFAULT_KEY`, which everyone knows, so a copy of the folder would give the bot's keys
away. The bot always passes the configured secret instead. A store written by an earlier version
with the built-in key is re-encrypted with the secret once, on start (`rekey_store`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from nio.crypto import GroupSessionStore, InboundGroupSession, OlmAccount
from nio.store import DefaultStore
from nio.store.models import MegolmInboundSessions
from peewee import SqliteDatabase

NIO_DEFAULT_KEY = "DEFAULT_KEY"
# Prepared statements the store keeps (Python's default 128: a third of a megabyte once a fan-out
# has saved hundreds of room keys, where preparing one again takes tens of microseconds).
STORE_PREPARED_STATEMENTS = 16


class StoreState(StrEnum):
    NEW = "new"  # no store for this device yet: it will be made with the key
    OK = "ok"  # the key opens it
    BUILT_IN = "built_in"  # written with nio's built-in key: re-encrypted on the next start
    WRONG_KEY = "wrong_key"  # neither opens it


class OthersRoomKeys(GroupSessionStore):
    """The room keys nio keeps to read messages (inbound Megolm sessions), without the bot's own.

    For every room key the bot makes to send with, nio also keeps the key to read those messages,
    saves it and loads it again at every start: a reminder by direct message to 2,000 people adds
    2,000 of them (about 1 KB each in memory), for ever. The bot never reads its own messages
    (they are dropped before nio sees them), and nio gives a room key on request only to the
    bot's own other devices (it has none), so they are not kept."""

    def __init__(self, own_key: str) -> None:
        super().__init__()
        self.own_key = own_key

    def add(self, session: InboundGroupSession) -> bool:
        return session.sender_key != self.own_key and bool(super().add(session))


class CryptoStore(DefaultStore):
    """nio's store of the bot's encryption keys, with three changes. Its commits go to a
    write-ahead log without waiting for the disk (WAL, synchronous=NORMAL: a crash of the bot
    loses nothing; a power cut may lose the last keys made, and a lost outbound session is made
    again), where nio would flush the disk on the event loop for every room key it makes. A sync
    that brought no room's encryption event writes nothing (nio opens a transaction on every sync
    otherwise, in the way of the answer to a command). And it keeps no room key of the bot's own
    (`OthersRoomKeys`); those an earlier version saved are deleted when the keys are loaded."""

    own_key = ""  # the device's identity key (curve25519), once its account is loaded or made

    def _create_database(self) -> SqliteDatabase:
        return SqliteDatabase(
            self.database_path,
            pragmas={"foreign_keys": 1, "secure_delete": 1, "journal_mode": "wal", "synchronous": "normal"},
            cached_statements=STORE_PREPARED_STATEMENTS,
        )

    def load_account(self) -> OlmAccount | None:
        account = super().load_account()
        if account is not None:
            self.own_key = account.identity_keys["curve25519"]
        return account

    def save_account(self, account: OlmAccount) -> None:
        super().save_account(account)
        self.own_key = account.identity_keys["curve25519"]

    def load_inbound_group_sessions(self) -> GroupSessionStore:
        with self.database.bind_ctx(self.models):
            MegolmInboundSessions.delete().where(MegolmInboundSessions.sender_key == self.own_key).execute()
        keys = OthersRoomKeys(self.own_key)
        for session in super().load_inbound_group_sessions():
            keys.add(session)
        return keys

    def save_inbound_group_session(self, session: InboundGroupSession) -> None:
        if session.sender_key != self.own_key:
            super().save_inbound_group_session(session)

    def save_encrypted_rooms(self, rooms: set[str]) -> None:
        if rooms:
            super().save_encrypted_rooms(rooms)

    def release_memory(self) -> None:
        """Let SQLite free the store's page cache (the bot is idle; making 200 direct rooms fills
        it with keys and sessions); a moment's work on the event loop, as nio's own reads are."""
        self.database.execute_sql("PRAGMA shrink_memory")


def _store(store_dir: Path, user_id: str, device_id: str, key: str) -> DefaultStore:
    return DefaultStore(user_id, device_id, str(store_dir), key)


def _opens(store_dir: Path, user_id: str, device_id: str, key: str) -> bool:
    store = _store(store_dir, user_id, device_id, key)
    try:
        store.load_account()
        store.load_sessions()
        store.load_inbound_group_sessions()
        return True
    except Exception:  # vodozemac's and libolm's pickle errors: this key does not open it
        return False
    finally:
        store.database.close()


def store_state(store_dir: Path, user_id: str, device_id: str, key: str) -> StoreState:
    """Whether `key` opens the device's store in `store_dir` (read only; nothing is written)."""
    if not (store_dir / f"{user_id}_{device_id}.db").exists():
        return StoreState.NEW
    if _opens(store_dir, user_id, device_id, key):
        return StoreState.OK
    if _opens(store_dir, user_id, device_id, NIO_DEFAULT_KEY):
        return StoreState.BUILT_IN
    return StoreState.WRONG_KEY


def rekey_store(store_dir: Path, user_id: str, device_id: str, key: str) -> StoreState:
    """Re-encrypt a store written with nio's built-in key with `key` (account, Olm and Megolm
    sessions: everything nio pickles); the state found before."""
    state = store_state(store_dir, user_id, device_id, key)
    if state != StoreState.BUILT_IN:
        return state
    old = _store(store_dir, user_id, device_id, NIO_DEFAULT_KEY)
    try:
        account = old.load_account()
        sessions = old.load_sessions()
        group_sessions = old.load_inbound_group_sessions()
    finally:
        old.database.close()
    new = _store(store_dir, user_id, device_id, key)
    try:
        new.save_account(account)
        for sender_key, olm_sessions in sessions.items():
            for session in olm_sessions:
                new.save_session(sender_key, session)
        for group_session in group_sessions:
            new.save_inbound_group_session(group_session)
    finally:
        new.database.close()
    return state
