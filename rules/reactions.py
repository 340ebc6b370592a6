"""Reaction keys the bot reads as votes and sign-ups (with and without the emoji variation selector)."""

from __future__ import annotations

# 👍 in every skin tone: a vote for a question or a topic wish.
VOTES = frozenset({"👍", "👍️", *(f"👍{tone}" for tone in "🏻🏼🏽🏾🏿")})
# ✅ and its look-alikes: signing up for the session or series announced.
REGISTER = frozenset({"✅", "✅\ufe0f", "✔️", "✔", "☑️", "☑"})
