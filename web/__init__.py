"""The web face: the programme, a person's own page, its forms and the room widget — thin like the
chat's commands: parse the request, call one use case (through `bot.web_face`), render its outcome.
Each module hands its routes to the assembly point (`bot/app.py`) and imports no other of them."""
