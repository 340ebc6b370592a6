"""From an event to its handler: one path for commands, messages in threads, reactions and
redactions, and one place for the flood guard, roles, errors, metrics and logging.

The Dispatcher catches every exception: users get a short German message (with a reference
number when it is our fault), the log gets the traceback, and the next event is handled as usual.
A transient database failure (locked, connection lost, see `storage.failures`) is the one
exception it lets through: then nothing of the batch is kept, and the caller tries it again.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Plans, RoomInfo
from bot.arguments import parse_arguments
from bot.config import Config
from bot.context import Context
from bot.flood import FloodGuard, Verdict
from bot.roles import Role, Roles
from bot.routing import Command, CommandSet, Invocation, parse_invocation, strip_reply_fallback
from rules.errors import UserError
from storage import outbox, state
from storage.db import Database
from storage.failures import is_transient
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

Observer = Callable[[str, str, float], None]  # (label, outcome, seconds) of each event handled
# Told after each commit that the outbox has news: the messages written that head their lanes.
Delivered = Callable[[list[OutboxMessage]], Awaitable[None]]
Finish = Callable[[AsyncSession], Awaitable[None]]  # more work for a batch's last transaction
Recorded = Callable[[int, float], None]  # (commands, seconds) of each batch's writing to the outbox
UNKNOWN_COMMAND = "(unknown)"  # how commands that do not exist are logged and counted
THREAD_MESSAGE = "(thread message)"  # how messages taken by a thread listener are logged and counted
REPLY_MESSAGE = "(reply)"  # how messages taken by a reply listener are logged and counted
UNDECRYPTABLE = "(undecryptable)"
MAX_ECHOED_NAME = 40  # an unknown command is quoted back at most this long
UNDECRYPTABLE_HINT_EVERY = timedelta(minutes=10)  # per person and room
BATCH_LIMIT = 100  # events decided in one transaction (it holds SQLite's write lock meanwhile)


class EventKind(StrEnum):
    MESSAGE = "message"
    REACTION = "reaction"
    REDACTION = "redaction"
    UNDECRYPTABLE = "undecryptable"  # an encrypted message the bot could not read


@dataclass(frozen=True)
class Incoming:
    """An event from a room, as handlers see it: a message (`body`, maybe in a thread or in reply
    to `reply_to`), a reaction
    (`key` on the event `target`), a redaction (of `target`), or a message we could not decrypt."""

    room_id: str
    sender: str
    event_id: str
    body: str = ""
    thread_root: str | None = None
    sent_at: datetime | None = None  # the homeserver's timestamp of the event
    kind: EventKind = EventKind.MESSAGE
    key: str | None = None
    target: str | None = None
    reply_to: str | None = None


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # the user's mistake or missing role: answered with an explanation
    FAILED = "failed"  # our fault: answered with a reference number, traceback in the log


Work = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """What takes an event: how it is logged and counted (`label`), the role it needs, the work,
    and whether the flood guard counts it."""

    label: str
    role: Role
    work: Work
    guarded: bool = True


async def _nothing(_: list[OutboxMessage]) -> None:
    return None


class Dispatcher:
    """Routes each event to its handler and runs it, whatever happens.

    The handler's changes, the messages it causes (written to the outbox) and the event's record
    as handled are committed in one transaction: after a crash an event is either done, with all
    its effects on their way, or not done at all. The events of one sync response are decided in
    order in one such transaction (`handle_batch`), each command in a savepoint of its own."""

    def __init__(
        self,
        config: Config,
        db: Database,
        rooms: RoomInfo,
        plans: Plans,
        commands: CommandSet,
        roles: Roles,
        observe: Observer = lambda *_: None,
        delivered: Delivered = _nothing,
        recorded: Recorded = lambda *_: None,
    ) -> None:
        self.config = config
        self.db = db
        self.rooms = rooms
        self.plans = plans
        self.delivered = delivered
        self.commands = commands
        self.roles = roles
        self.observe = observe
        self.recorded = recorded
        self.flood = FloodGuard(config.commands_per_minute, timedelta(minutes=1))
        self._hinted: dict[tuple[str, str], tuple[datetime, str]] = {}  # (room, sender): (when, event)

    def wants(self, kind: EventKind, key: str | None = None) -> bool:
        """Whether any route could take an event of this kind (a reaction: with this key)."""
        if kind == EventKind.REACTION:
            return key in self.commands.reaction_keys
        if kind == EventKind.REDACTION:
            return bool(self.commands.redactions)
        return True

    async def handle(self, event: Incoming, now: datetime) -> bool:
        """Handle the event if some route takes it; True when one did (it counts as answered)."""
        return await self.handle_batch([event], now) > 0

    async def handle_batch(self, events: list[Incoming], now: datetime, then: Finish | None = None) -> int:
        """Decide the events in their order, BATCH_LIMIT at a time in one transaction each, then
        hand their answers to delivery all at once; events handled before are skipped. `then`
        (storing the sync token) joins the last of these transactions, or has one of its own when
        there is nothing to decide. Returns how many events some route took.

        A transient database failure is raised (`storage.failures.is_transient`): `then` has not
        run, and the same events given again are decided as if for the first time (those whose
        transaction did commit are skipped), so each is answered once."""
        fresh = list({e.event_id: e for e in events}.values())  # an event given twice counts once
        taken = 0
        finished = False
        while fresh:
            last = then if len(fresh) <= BATCH_LIMIT else None
            batch = fresh[:BATCH_LIMIT]
            decided, rest, finished = await self._decide_batch(batch, now, last)
            going_on = {e.event_id for e in rest}
            self.flood.settled(e.event_id for e in batch if e.event_id not in going_on)
            fresh = rest + fresh[BATCH_LIMIT:]
            taken += decided
        if then is not None and not finished:
            async with self.db.transaction() as s:
                await then(s)
        return taken

    async def _decide_batch(
        self, events: list[Incoming], now: datetime, then: Finish | None
    ) -> tuple[int, list[Incoming], bool]:
        """One transaction: each command in a savepoint of its own (a failing one takes nothing of
        the others with it), then all their messages and records as handled (and `then`, unless
        the batch is cut short), one commit. A command that changes what the bot keeps in memory
        (`after_commit`) ends the batch, so the commands after it see that change; they are
        returned to go next. When the commit fails for a lasting reason, the events are decided one
        by one; a transient failure is raised. Returns how many were decided, the rest, and
        whether `then` ran."""
        decided: list[Context] = []
        rest: list[Incoming] = []
        try:
            async with self.db.transaction() as s:
                done = await state.handled(s, [e.event_id for e in events])
                for position, event in enumerate(events):
                    if event.event_id in done:
                        continue
                    ctx = await self._decide(s, event, now)
                    if ctx is None:
                        continue
                    decided.append(ctx)
                    if ctx.after_commit:
                        rest = events[position + 1 :]
                        break
                heads = await self._record(s, decided, now)
                if then is not None and not rest:
                    await then(s)
        except Exception as exc:
            if is_transient(exc):
                raise  # nothing of the batch is kept: it is decided again, whole, when tried again
            return await self._commit_failed(events, decided, now), [], False
        for ctx in decided:
            ctx.committed(self.plans)
        await self.delivered(heads)
        return len(decided), rest, then is not None and not rest

    async def _commit_failed(self, events: list[Incoming], decided: list[Context], now: datetime) -> int:
        """The batch could not be committed for a lasting reason: decide its events one by one; a
        single one that still fails is answered with a reference number, in a transaction of its
        own (a transient failure meanwhile is raised)."""
        if len(events) > 1:
            log.exception("could not commit a batch of %d events; deciding them one by one", len(events))
            return sum([await self.handle_batch([event], now) for event in events])
        reference = secrets.token_hex(3).upper()
        log.exception("could not commit event %s (Ref. %s)", events[0].event_id, reference)
        try:
            for ctx in decided:
                await self._answer_safely(ctx, "errors.internal", {"reference": reference})
            async with self.db.transaction() as s:
                heads = await self._record(s, decided, now)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("could not queue the answer to %s", events[0].event_id)
            return 0
        await self.delivered(heads)
        return len(decided)

    async def _decide(self, s: AsyncSession, event: Incoming, now: datetime) -> Context | None:
        """Route the event and run its work in the open transaction; its context (what it queued),
        or None when no route takes it. Raises only a transient database failure."""
        started = time.perf_counter()
        try:
            route = await self._route(event, now)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("could not route event %s", event.event_id)
            self._finished("(routing)", Outcome.FAILED, started)
            return None
        if route is None:
            return None
        ctx = self._context(event, now)
        if not route.guarded or await self._within_limit(ctx, event, route.label, now):
            await self._run(s, ctx, route, started)
        s.expunge_all()  # the next command reads the database, not this one's objects
        return ctx

    async def _record(self, s: AsyncSession, decided: list[Context], now: datetime) -> list[OutboxMessage]:
        """Write the messages the commands caused and their records as handled (one statement
        each); the messages written that head their lanes. How long that took is observed."""
        started = time.perf_counter()
        heads = await outbox.write(s, [m for ctx in decided for m in ctx.messages], now)
        await state.mark_handled(s, [(ctx.event_id, ctx.room_id) for ctx in decided if ctx.record_handled], now)
        if decided:
            self.recorded(len(decided), time.perf_counter() - started)
        return heads

    def _context(self, event: Incoming, now: datetime) -> Context:
        return Context.begin(
            self.config,
            self.roles,
            self.rooms,
            sender=event.sender,
            room_id=event.room_id,
            request_id=event.event_id,
            now=now,
            db=self.db,
            commands=self.commands,
            thread_root=event.thread_root,
            by_reaction=event.kind in (EventKind.REACTION, EventKind.REDACTION),
        )

    async def _route(self, event: Incoming, now: datetime) -> Route | None:
        """The route that takes the event, or None."""
        if event.kind == EventKind.UNDECRYPTABLE:
            return Route(UNDECRYPTABLE, Role.STAFF, self._undecryptable, False) if self._hint_due(event, now) else None
        if event.kind == EventKind.MESSAGE:
            return await self._message_route(event)
        if event.target is None:
            return None
        if event.kind == EventKind.REACTION:
            for reaction in self.commands.reactions_for(event.key or ""):
                found = await self._look_up(reaction.lookup, event.target, event.room_id)
                if found is not None:
                    return Route(f"reaction {reaction.name}", reaction.role, _bind(reaction.handler, found))
            return None
        for redaction in self.commands.redactions:
            found = await self._look_up(redaction.lookup, event.target, event.room_id)
            if found is not None:
                return Route(f"redaction {redaction.name}", Role.STAFF, _bind(redaction.handler, found))
        return None

    async def _message_route(self, event: Incoming) -> Route | None:
        invocation = parse_invocation(event.body, self.config.command_prefix)
        if invocation is not None:
            resolved = self.commands.resolve(invocation)
            if resolved is None:
                return Route(UNKNOWN_COMMAND, Role.STAFF, _unknown(self.commands, invocation))
            command, args = resolved
            return Route(command.name, command.role, _invoke(command, args))
        text = strip_reply_fallback(event.body).strip()
        if event.thread_root is not None:
            for listener in self.commands.listeners:
                found = await self._look_up(listener.lookup, event.thread_root, event.room_id)
                if found is not None:
                    return Route(THREAD_MESSAGE, Role.STAFF, _bind(listener.handler, found, text))
        if event.reply_to is not None:
            for listener in self.commands.replies:
                found = await self._look_up(listener.lookup, event.reply_to, event.room_id)
                if found is not None:
                    return Route(REPLY_MESSAGE, Role.STAFF, _bind(listener.handler, found, text))
        return None

    async def _look_up(self, lookup: Callable[..., Awaitable[Any]], event_id: str, room_id: str) -> Any:
        """What `event_id` refers to, read in a savepoint (a failing lookup takes nothing with it);
        a command itself is routed without the database. Something that lives in another room than
        the event that points at it is not found: a reaction, thread message or reply in a room of
        one's own cannot reach an announcement, a round or a wish elsewhere."""
        async with self.db.transaction() as s, s.begin_nested():
            found = await lookup(s, event_id)
        home = getattr(found, "room_id", None)
        if isinstance(home, str) and home != room_id:
            log.info("an event pointed at %s of another room; ignored", type(found).__name__)
            return None
        return found

    async def _within_limit(self, ctx: Context, event: Incoming, label: str, now: datetime) -> bool:
        """The flood guard: False (after one kind answer) when the sender sent too much."""
        verdict = self.flood.check(event.sender, event.sent_at or now, event.event_id)
        if verdict == Verdict.ALLOW:
            return True
        log.info("%s: %s (too many commands from one person)", label, verdict)
        if verdict == Verdict.WARN:
            await self._answer_safely(ctx, "errors.flood", {"limit": self.config.commands_per_minute})
        return False

    async def _run(self, s: AsyncSession, ctx: Context, route: Route, started: float) -> None:
        """Check the role (before the arguments are judged) and run the route's work in a savepoint; every
        exception becomes an answer (a short German one, or a reference) and the work is rolled
        back to the savepoint. A transient database failure is raised: the whole batch goes."""
        try:
            async with s.begin_nested():
                if route.role > ctx.role:
                    role = ctx.t(f"roles.{route.role.name.lower()}")
                    raise UserError("errors.role_required", command=route.label, role=role)
                await route.work(ctx)
            self._finished(route.label, Outcome.OK, started)
        except UserError as exc:
            await self._answer_safely(ctx, exc.key, exc.params)
            self._finished(route.label, Outcome.REFUSED, started, exc.key)
        except Exception as exc:
            if is_transient(exc):
                raise
            reference = secrets.token_hex(3).upper()
            await self._answer_safely(ctx, "errors.internal", {"reference": reference})
            self._finished(route.label, Outcome.FAILED, started, f"Ref. {reference}")

    def _finished(self, label: str, outcome: Outcome, started: float, detail: str = "") -> None:
        """One log line per event handled: route, outcome, duration (and the traceback when it
        failed); never who sent it or what they wrote. Then the observer (metrics) hears of it."""
        seconds = time.perf_counter() - started
        fields: dict[str, Any] = {"command": label, "outcome": str(outcome), "duration_ms": round(seconds * 1000)}
        if detail:
            fields["detail"] = detail
        log.log(
            logging.ERROR if outcome == Outcome.FAILED else logging.INFO,
            "command %s: %s (%s%d ms)",
            label,
            outcome,
            f"{detail}, " if detail else "",
            fields["duration_ms"],
            extra=fields,
            exc_info=outcome == Outcome.FAILED,
        )
        self.observe(label, outcome, seconds)

    async def _answer_safely(self, ctx: Context, key: str, params: dict[str, Any]) -> None:
        """Forget what the work queued, and answer with `key` instead."""
        ctx.discard()
        try:
            await ctx.reply(key, **params)
        except Exception:
            log.exception("could not queue the answer to %s", ctx.event_id)

    def _hint_due(self, event: Incoming, now: datetime) -> bool:
        """At most one hint per person and room every UNDECRYPTABLE_HINT_EVERY (the same event
        again, its batch not committed, still gets it)."""
        last = self._hinted.get((event.room_id, event.sender))
        if last is not None and last[1] != event.event_id and now - last[0] < UNDECRYPTABLE_HINT_EVERY:
            return False
        # Those hinted longer ago may have one again anyway: not kept for ever.
        self._hinted = {key: seen for key, seen in self._hinted.items() if now - seen[0] < UNDECRYPTABLE_HINT_EVERY}
        self._hinted[(event.room_id, event.sender)] = (now, event.event_id)
        return True

    async def _undecryptable(self, ctx: Context) -> None:
        """Say that we could not read the message, and how to help."""
        await ctx.reply("bot.undecryptable")


def _bind(handler: Callable[..., Awaitable[None]], *found: Any) -> Work:
    async def work(ctx: Context) -> None:
        await handler(ctx, *found)

    return work


def _invoke(command: Command, args: str) -> Work:
    """Parse the declared arguments, then call the handler with them by name."""

    async def work(ctx: Context) -> None:
        await command.handler(ctx, **parse_arguments(ctx, command.name, command.args, args))

    return work


def _unknown(commands: CommandSet, invocation: Invocation) -> Work:
    async def work(ctx: Context) -> None:
        typed = invocation.words[0]
        shown = typed if len(typed) <= MAX_ECHOED_NAME else f"{typed[:MAX_ECHOED_NAME]}…"
        suggestion = commands.suggest(typed[:MAX_ECHOED_NAME])
        if suggestion:
            raise UserError("errors.unknown_command_suggest", name=shown, suggestion=suggestion)
        raise UserError("errors.unknown_command", name=shown)

    return work
