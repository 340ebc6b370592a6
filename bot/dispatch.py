"""From a message to a command handler: parsing, routing, roles, and one place for errors.

Handlers are declared on a Router with a decorator (German name, English aliases, help text,
required role). The Dispatcher catches every exception: users get a short German message
(with a reference number when it is our fault), the log gets the traceback.
"""

from __future__ import annotations

import difflib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.config import Config
from bot.flood import FloodGuard, Verdict
from bot.content import message_content, pill, relation, transaction_id
from bot.i18n import Message, t
from bot.roles import Role, Roles
from commands.errors import UserError
from storage.db import Database

log = logging.getLogger(__name__)

Handler = Callable[["Context", str], Awaitable[None]]
Observer = Callable[[str, str, float], None]  # (command, outcome, seconds) of each command handled
UNKNOWN_COMMAND = "(unknown)"  # how commands that do not exist are logged and counted
THREAD_MESSAGE = "(thread message)"  # how messages taken by a thread listener are logged and counted
MENTIONS_PER_MESSAGE = 100
MAX_ECHOED_NAME = 40  # an unknown command is quoted back at most this long
MAX_MESSAGE_CHARS = 16_000  # per body and formatted_body: well below the 64 KiB event limit
_NAME = re.compile(r"[^\W\d_]")


class Outbox(Protocol):
    """Where messages go (the Matrix layer, or a fake in unit tests)."""

    async def send(self, room_id: str, content: dict[str, Any], tx_id: str) -> str: ...

    async def upload(self, room_id: str, data: bytes, content_type: str, filename: str) -> dict[str, Any]: ...

    async def react(self, room_id: str, event_id: str, key: str, tx_id: str) -> str: ...

    def member_count(self, room_id: str) -> int: ...

    async def direct_room(self, user_id: str) -> str: ...

    def display_name(self, room_id: str, user_id: str) -> str | None: ...


@dataclass(frozen=True)
class Command:
    """A declared command; `name` may be two words ("termin neu")."""

    name: str
    aliases: tuple[str, ...]
    help_key: str
    role: Role
    handler: Handler

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


Listener = Callable[["Context", str], Awaitable[bool]]


class Router:
    """A family of commands, declared with `@router.command(...)`, and listeners for messages in
    threads that are not commands (`@router.thread_message()`; True when they took the message)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: list[Command] = []
        self.listeners: list[Listener] = []

    def thread_message(self) -> Callable[[Listener], Listener]:
        def register(listener: Listener) -> Listener:
            self.listeners.append(listener)
            return listener
        return register

    def command(self, name: str, *, aliases: Iterable[str] = (), help: str,
                role: Role = Role.STAFF) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(Command(name, tuple(aliases), help, role, handler))
            return handler
        return register


def strip_reply_fallback(body: str) -> str:
    """Drop the quoted `> ` lines a client puts in front of a reply's body."""
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    if lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


@dataclass(frozen=True)
class Invocation:
    """`!name args` as typed: `words` are the lower-cased first two words."""

    words: tuple[str, ...]
    args: str


def parse_invocation(body: str, prefix: str) -> Invocation | None:
    """The command in a message body, or None when the message is not a command."""
    text = strip_reply_fallback(body).strip()
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix):]
    if not _NAME.match(rest):
        return None
    head, _, args = rest.partition("\n")
    words = head.split()
    tail = head[len(words[0]):].strip() if words else ""
    args = f"{tail}\n{args}".strip() if args else tail
    return Invocation(tuple(w.lower() for w in words[:2]), args)


class CommandSet:
    """All commands of all routers, looked up by name or alias."""

    def __init__(self, routers: Iterable[Router]) -> None:
        routers = list(routers)
        self.commands = [c for r in routers for c in r.commands]
        self.listeners = [listener for r in routers for listener in r.listeners]
        self._by_name: dict[str, Command] = {}
        for command in self.commands:
            for name in command.names:
                if name in self._by_name:
                    raise ValueError(f"command name declared twice: {name}")
                self._by_name[name] = command

    def resolve(self, invocation: Invocation) -> tuple[Command, str] | None:
        """The command and its arguments; two-word names win over one-word names."""
        if len(invocation.words) == 2:
            command = self._by_name.get(" ".join(invocation.words))
            if command:
                args = invocation.args.split(None, 1)
                return command, args[1] if len(args) > 1 else ""
        command = self._by_name.get(invocation.words[0])
        return (command, invocation.args) if command else None

    def suggest(self, word: str) -> str | None:
        names = [n for n in self._by_name if " " not in n]
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
        return close[0] if close else None

    def visible_to(self, role: Role) -> list[Command]:
        return [c for c in self.commands if c.role <= role]


class Plans(Protocol):
    """The scheduler, as commands see it."""

    def changed(self, session_id: int) -> None:
        """A session or its planned messages changed: derive its jobs again, refresh its announcement."""

    def places_changed(self, session_id: int) -> None:
        """Only its registrations changed: refresh its announcement."""


@dataclass
class Voice:
    """What rendering a message needs: language, time zone and prefix (the config) and the time."""

    config: Config
    now: datetime

    @property
    def language(self) -> str:
        return self.config.language

    @property
    def prefix(self) -> str:
        return self.config.command_prefix

    def t(self, key: str, **params: Any) -> Message:
        return t(key, self.language, **{"prefix": self.prefix, **params})


@dataclass
class Context(Voice):
    """Everything a handler may use for one command."""

    db: Database
    outbox: Outbox
    plans: Plans
    commands: CommandSet
    roles: Roles
    room_id: str
    sender: str
    event_id: str
    thread_root: str | None
    by_reaction: bool = False
    replies: int = field(default=0)

    @property
    def role(self) -> Role:
        """The sender's role in the room the command was given in."""
        return self.roles.in_room(self.room_id, self.sender)

    def require(self, role: Role, session: Any) -> None:
        """Refuse unless the sender holds `role` in the room of `session` (where it is announced):
        power in some other room of one's own gives no say over it."""
        if self.roles.in_room(session.room_id, self.sender) < role:
            raise UserError("errors.role_required_for_session", ref=f"#{session.id}",
                            role=self.t(f"roles.{role.name.lower()}"))

    async def reply(self, key_or_message: str | Message, **params: Any) -> str:
        """Answer the command as an m.notice in reply (and in its thread).

        A command given by reaction (✅ on an announcement) is answered by direct message:
        a reaction has no place in the timeline to answer to, and others need not read it."""
        message = key_or_message if isinstance(key_or_message, Message) else self.t(key_or_message, **params)
        room_id = await self.outbox.direct_room(self.sender) if self.by_reaction else self.room_id
        event_id = ""
        for piece in message.split(MAX_MESSAGE_CHARS):
            self.replies += 1
            tx_id = transaction_id("reply", self.event_id, str(self.replies))
            content = (message_content(piece) if self.by_reaction else
                       message_content(piece, reply_to=self.event_id, thread_root=self.thread_root))
            event_id = await self.outbox.send(room_id, content, tx_id)
        return event_id

    async def notify(self, room_id: str, user_ids: list[str], key: str, **params: Any) -> None:
        """A message that must reach these people: m.text that mentions them (it notifies).

        Long lists go out in several messages, so no event comes near the 64 KiB limit."""
        for start in range(0, len(user_ids), MENTIONS_PER_MESSAGE):
            chunk = user_ids[start:start + MENTIONS_PER_MESSAGE]
            who = Message.join([pill(u, self.outbox.display_name(room_id, u)) for u in chunk], ", ")
            content = message_content(self.t(key, user=who, **params), notice=False, mentions=tuple(chunk))
            await self.outbox.send(room_id, content, transaction_id("notify", self.event_id, key, str(start)))

    async def send_file(self, room_id: str, data: bytes, filename: str, mimetype: str) -> str:
        """Upload `data` and post it as an m.file (in reply to the command when in its room)."""
        where = await self.outbox.upload(room_id, data, mimetype, filename)
        content: dict[str, Any] = {"msgtype": "m.file", "body": filename, "filename": filename, **where,
                                   "info": {"mimetype": mimetype, "size": len(data)}, "m.mentions": {}}
        if room_id == self.room_id:
            content["m.relates_to"] = relation(self.event_id, self.thread_root)
        return await self.outbox.send(room_id, content, transaction_id("file", self.event_id, room_id, filename))


@dataclass(frozen=True)
class Incoming:
    """A text message that may be a command (or a reaction standing for one, see `by_reaction`)."""

    room_id: str
    sender: str
    event_id: str
    body: str
    thread_root: str | None
    by_reaction: bool = False
    sent_at: datetime | None = None  # the homeserver's timestamp of the event


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # the user's mistake or missing role: answered with an explanation
    FAILED = "failed"  # our fault: answered with a reference number, traceback in the log


class Dispatcher:
    """Runs the command in a message, whatever happens."""

    def __init__(self, config: Config, db: Database, outbox: Outbox, plans: Plans, commands: CommandSet,
                 roles: Roles, observe: Observer = lambda *_: None) -> None:
        self.config = config
        self.db = db
        self.outbox = outbox
        self.plans = plans
        self.commands = commands
        self.roles = roles
        self.observe = observe
        self.flood = FloodGuard(config.commands_per_minute, timedelta(minutes=1))

    async def handle(self, message: Incoming, now: datetime) -> bool:
        """Answer the message if it is a command (or a message some listener takes, such as a
        question in a Q&A thread); True when it was one of those."""
        started = time.perf_counter()
        invocation = parse_invocation(message.body, self.config.command_prefix)
        if invocation is None and not (message.thread_root and self.commands.listeners):
            return False
        ctx = Context(config=self.config, now=now, db=self.db, outbox=self.outbox, plans=self.plans,
                      commands=self.commands, roles=self.roles, room_id=message.room_id, sender=message.sender,
                      event_id=message.event_id, thread_root=message.thread_root, by_reaction=message.by_reaction)
        if invocation is None:
            text = strip_reply_fallback(message.body).strip()
            return await self._run(ctx, THREAD_MESSAGE, started, self._listen, ctx, text)
        resolved = self.commands.resolve(invocation)
        label = resolved[0].name if resolved else UNKNOWN_COMMAND
        verdict = self.flood.check(message.sender, message.sent_at or now)
        if verdict != Verdict.ALLOW:
            log.info("command %s: %s (too many commands from one person)", label, verdict)
            if verdict == Verdict.WARN:
                await self._answer_safely(ctx, "errors.flood", {"limit": self.config.commands_per_minute})
            return True
        return await self._run(ctx, label, started, self._command, ctx, invocation, resolved)

    async def _listen(self, ctx: Context, text: str) -> bool:
        for listener in self.commands.listeners:
            if await listener(ctx, text):
                return True
        return False

    async def _command(self, ctx: Context, invocation: Invocation, resolved: tuple[Command, str] | None) -> bool:
        if resolved is None:
            typed = invocation.words[0]
            shown = typed if len(typed) <= MAX_ECHOED_NAME else f"{typed[:MAX_ECHOED_NAME]}…"
            suggestion = self.commands.suggest(typed[:MAX_ECHOED_NAME])
            if suggestion:
                raise UserError("errors.unknown_command_suggest", name=shown, suggestion=suggestion)
            raise UserError("errors.unknown_command", name=shown)
        command, args = resolved
        if command.role > ctx.role:
            raise UserError("errors.role_required", command=command.name,
                            role=ctx.t(f"roles.{command.role.name.lower()}"))
        await command.handler(ctx, args)
        return True

    async def _run(self, ctx: Context, label: str, started: float, work: Callable[..., Awaitable[bool]],
                   *args: Any) -> bool:
        """Run `work`; every exception becomes an answer (a short German one, or a reference)."""
        try:
            taken = await work(*args)
            if taken:
                self._finished(label, Outcome.OK, started)
            return taken
        except UserError as exc:
            await self._answer_safely(ctx, exc.key, exc.params)
            self._finished(label, Outcome.REFUSED, started, exc.key)
        except Exception:
            reference = secrets.token_hex(3).upper()
            await self._answer_safely(ctx, "errors.internal", {"reference": reference})
            self._finished(label, Outcome.FAILED, started, f"Ref. {reference}")
        return True

    def _finished(self, label: str, outcome: Outcome, started: float, detail: str = "") -> None:
        """One log line per command: name, outcome, duration (and the traceback when it failed);
        never who sent it or what they wrote. Then the observer (metrics) hears of it."""
        seconds = time.perf_counter() - started
        fields: dict[str, Any] = {"command": label, "outcome": str(outcome), "duration_ms": round(seconds * 1000)}
        if detail:
            fields["detail"] = detail
        log.log(logging.ERROR if outcome == Outcome.FAILED else logging.INFO, "command %s: %s (%s%d ms)",
                label, outcome, f"{detail}, " if detail else "", fields["duration_ms"], extra=fields,
                exc_info=outcome == Outcome.FAILED)
        self.observe(label, outcome, seconds)

    async def _answer_safely(self, ctx: Context, key: str, params: dict[str, Any]) -> None:
        try:
            await ctx.reply(key, **params)
        except Exception:
            log.exception("could not send the answer to %s", ctx.event_id)
