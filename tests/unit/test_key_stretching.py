"""Keys derived from the bot's secret: one per purpose, stretched, stable across processes."""

from __future__ import annotations

import hashlib

from rules.key_stretching import BLOCK_SIZE, COST, stretched

SECRET = "s" * 32


def test_each_purpose_gets_its_own_stable_key():
    alias, feedback = stretched(SECRET, "room-alias"), stretched(SECRET, "feedback")
    assert len(alias) == len(feedback) == 32 and alias != feedback
    assert stretched(SECRET, "room-alias") == alias
    assert stretched("t" * 32, "room-alias") != alias


def test_the_key_is_scrypt_with_at_least_the_recommended_cost():
    assert COST >= 2**14 and BLOCK_SIZE >= 8
    stretched.cache_clear()
    expected = hashlib.scrypt(SECRET.encode(), salt=b"regiobot:room-alias", n=COST, r=BLOCK_SIZE, p=1, dklen=32)
    assert stretched(SECRET, "room-alias") == expected
    assert stretched(SECRET, "room-alias") != hashlib.sha256(f"room-alias:{SECRET}".encode()).digest()
