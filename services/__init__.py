"""Use cases: one function per thing a person can do, called by every face (chat, web) alike.

A use case takes the acting person (`bot.acting.Acting`), the open transaction and typed
inputs; it decides roles and official rooms, changes the database, queues its messages on the
outbox, and returns a typed outcome (or raises `UserError` for a refusal). Faces parse and render.

The `*_upkeep` modules are no use cases: each declares what the runtime does for a feature (planned
messages it renders, rooms it makes, periodic work; see `bot.features`).
"""
