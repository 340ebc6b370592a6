"""Routers: what handlers declare they take — commands with typed arguments, reactions, redactions
and messages in threads — and the one table of all routes the dispatcher looks things up in.

Routes are declared on a `Router`; the assembly point (`bot.app`) hands the routers to
`CommandSet`. A route's handler may live in a module imported only when the first event is routed
to it (`Router.later`): the words, arguments and lookups are known at start, the code that answers
is loaded on first use. Nothing here knows a handler module.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.arguments import Arg
from bot.roles import Role

Handler = Callable[..., Awaitable[None]]
# Finds what an event refers to (the announcement reacted to, the vote a redaction removes).
Lookup = Callable[[AsyncSession, str], Awaitable[Any]]
_NAME = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Command:
    """A declared command; `name` may be two words ("termin neu")."""

    name: str
    aliases: tuple[str, ...]
    help_key: str
    role: Role
    handler: Handler
    args: tuple[Arg, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Reaction:
    """Reactions with one of `keys` on an event that `lookup` finds (e.g. an announcement);
    the handler gets what was found."""

    name: str
    keys: frozenset[str]
    lookup: Lookup
    role: Role
    handler: Handler


@dataclass(frozen=True)
class Redaction:
    """Redactions of an event that `lookup` finds (e.g. the ✅ that registered someone)."""

    name: str
    lookup: Lookup
    handler: Handler


@dataclass(frozen=True)
class ThreadListener:
    """Messages (not commands) in a thread whose root `lookup` finds (e.g. a Q&A round), or in
    reply to an event it finds (e.g. a feedback question); the handler gets what was found and
    the message's text."""

    lookup: Lookup
    handler: Handler


class Later:
    """A handler that lives in `module`, imported on the first call: the function `function` (with
    `bound` keyword arguments given to it). `__name__` is the function's, as a handler's is."""

    def __init__(self, module: str, function: str, bound: dict[str, Any]) -> None:
        self.module = module
        self.__name__ = function
        self.bound = bound
        self._handler: Handler | None = None

    def resolve(self) -> Handler:
        """The handler itself; the first call imports its module (later calls reuse it)."""
        if self._handler is None:
            handler: Handler = getattr(importlib.import_module(self.module), self.__name__)
            self._handler = partial(handler, **self.bound) if self.bound else handler
        return self._handler

    async def __call__(self, ctx: Any, *args: Any, **kwargs: Any) -> None:
        await self.resolve()(ctx, *args, **kwargs)


class Router:
    """A family of handlers, declared with `@router.command(...)`, `@router.reaction(...)`,
    `@router.redaction(...)`, `@router.thread_message(...)` and `@router.reply_message(...)`, or,
    for handlers in `module` (imported on first use), with `router.command(...)(router.later("f"))`.

    Reactions, redactions and thread messages name a `lookup` (`on=`): what the event refers to
    is found in the database first, and only an event that refers to something is routed."""

    def __init__(self, name: str, module: str | None = None) -> None:
        self.name = name
        self.module = module
        self.commands: list[Command] = []
        self.reactions: list[Reaction] = []
        self.redactions: list[Redaction] = []
        self.listeners: list[ThreadListener] = []
        self.replies: list[ThreadListener] = []

    def command(
        self, name: str, *, aliases: Iterable[str] = (), help: str, role: Role = Role.STAFF, args: Sequence[Arg] = ()
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if not isinstance(handler, Later):  # checked when declared later: tests/unit/test_routes.py
                check_parameters(name, handler, [arg.name for arg in args])
            self.commands.append(Command(name, tuple(aliases), help, role, handler, tuple(args)))
            return handler

        return register

    def later(self, function: str, **bound: Any) -> Later:
        """The handler `function` of this router's module, imported when it is first called."""
        if self.module is None:
            raise ValueError(f"router {self.name!r} names no module to import its handlers from")
        return Later(self.module, function, bound)

    def reaction(self, keys: Iterable[str], *, on: Lookup, role: Role = Role.STAFF) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.reactions.append(Reaction(handler.__name__, frozenset(keys), on, role, handler))
            return handler

        return register

    def redaction(self, *, on: Lookup) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.redactions.append(Redaction(handler.__name__, on, handler))
            return handler

        return register

    def thread_message(self, *, on: Lookup) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.listeners.append(ThreadListener(on, handler))
            return handler

        return register

    def reply_message(self, *, on: Lookup) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.replies.append(ThreadListener(on, handler))
            return handler

        return register


def check_parameters(name: str, handler: Handler, declared: list[str]) -> None:
    """The handler takes the context and exactly the declared arguments, by name: a misspelt or
    missing one fails when the router is built (at start), not as a "Ref." answer to someone."""
    taken = list(inspect.signature(handler).parameters)[1:]
    if sorted(taken) != sorted(declared):
        raise TypeError(f"command {name!r}: {handler.__qualname__} takes {taken}, the declaration gives {declared}")


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
    rest = text[len(prefix) :]
    if not _NAME.match(rest):
        return None
    head, _, args = rest.partition("\n")
    words = head.split()
    tail = head[len(words[0]) :].strip() if words else ""
    args = f"{tail}\n{args}".strip() if args else tail
    return Invocation(tuple(w.lower() for w in words[:2]), args)


class CommandSet:
    """All routes of all routers: commands by name or alias, reactions by key, redactions, thread
    and reply listeners in the order the routers were given."""

    def __init__(self, routers: Iterable[Router]) -> None:
        routers = list(routers)
        self.commands = [c for r in routers for c in r.commands]
        self.reactions = [x for r in routers for x in r.reactions]
        self.redactions = [x for r in routers for x in r.redactions]
        self.listeners = [listener for r in routers for listener in r.listeners]
        self.replies = [listener for r in routers for listener in r.replies]
        self.reaction_keys = frozenset(k for x in self.reactions for k in x.keys)
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

    def reactions_for(self, key: str) -> list[Reaction]:
        return [x for x in self.reactions if key in x.keys]

    def suggest(self, word: str) -> str | None:
        names = [n for n in self._by_name if " " not in n]
        from difflib import get_close_matches  # on a typo only: not kept at rest

        close = get_close_matches(word, names, n=1, cutoff=0.6)
        return close[0] if close else None

    def visible_to(self, role: Role) -> list[Command]:
        return [c for c in self.commands if c.role <= role]
