"""Pure rules: parsing, decisions and rendering as functions of their inputs and `now`.

The lowest layer: it imports nothing of storage, the runtime (`bot`) or the handlers (`commands`).
"""
