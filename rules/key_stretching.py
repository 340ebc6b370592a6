"""Keys derived from the bot's one secret (`[matrix] store_key`), one per purpose, stretched with
scrypt: whoever holds a value made with one of them (a room alias, a feedback hash in a database
copy) pays scrypt's cost for every guess of the secret, and two purposes' keys cannot be matched."""

from __future__ import annotations

import hashlib
from functools import cache

# scrypt's cost: 16 MiB of memory and some 50 ms per derivation (OWASP's minimum for scrypt).
COST = 2**14
BLOCK_SIZE = 8
KEY_BYTES = 32


@cache
def stretched(secret: str, purpose: str) -> bytes:
    """The key for `purpose` (computed once per process and purpose)."""
    salt = f"regiobot:{purpose}".encode()
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=COST, r=BLOCK_SIZE, p=1, maxmem=2 * 128 * COST * BLOCK_SIZE, dklen=KEY_BYTES
    )
