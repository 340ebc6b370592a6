"""What features ask of the runtime, declared by each feature (`Feature`, in `services/*_upkeep.py`)
and handed to the scheduler and the deliverer by the assembly point (`bot/app.py`), so that the
runtime names no feature:

- planned messages: kinds of planned message a feature renders itself (`PlannedKind`), and lines it
  adds to a session's own planned messages (`adds_to`, e.g. the protocol's feedback totals);
- delivery: rooms a feature names by a stand-in until the deliverer makes them on their first
  message (`StandIns`), and content filled in just before an event type goes out (`fill_in`, e.g. a
  poll's result, counted when the poll ends);
- periodic work, done with the scheduler's housekeeping (`periodic`).

Hooks never open a transaction (the runtime hands them its own) and never call the homeserver
inside one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from rules.i18n import Message
from rules.sessions import SessionSummary
from rules.voice import Voice
from storage.models import PlannedMessage, Session
from storage.outbox import Outgoing

MIN_TTL = timedelta(hours=1)  # a planned message handed over late still gets this long to land
# An outbox message with the time until which it makes sense to deliver it.
Timed = tuple[Outgoing, datetime]


def planned_key(row: PlannedMessage) -> str:
    """The outbox key of a planned message as sent (a re-planned message is a new one)."""
    return f"planned:{row.key}:{row.revision}"


@dataclass(frozen=True)
class Due:
    """A planned message that fell due, as the feature that renders it sees it: the row, the
    bot's voice now, whether it is late, and the session it belongs to (None: no session's)."""

    row: PlannedMessage
    voice: Voice
    late: bool = False
    summary: SessionSummary[Session] | None = None

    @property
    def now(self) -> datetime:
        return self.voice.now

    @property
    def key(self) -> str:
        return planned_key(self.row)

    def message(
        self, content: dict[str, Any], until: datetime, room_id: str | None = None, user_id: str | None = None
    ) -> Timed:
        """The planned message itself (its outbox key, noting its event on the row), delivered
        until `until`, MIN_TTL at least."""
        outgoing = Outgoing(self.key, content, room_id=room_id, user_id=user_id, records=f"planned:{self.row.id}")
        return outgoing, max(until, self.now + MIN_TTL)


@dataclass(frozen=True)
class Skip:
    """A planned message that is no longer due (what it was about has changed): marked skipped."""

    reason: str


# What a due planned message becomes: its outbox messages (the planned message itself first, if it
# sends one; what goes along after it), or Skip.
Render = Callable[[AsyncSession, Due], Awaitable[list[Timed] | Skip]]
# A line a feature adds to a session's planned message, or None.
Addition = Callable[[AsyncSession, SessionSummary[Session], Voice], Awaitable[Message | None]]


@dataclass(frozen=True)
class PlannedKind:
    """A kind of planned message a feature renders; `plans_more`: handing it over plans further
    messages of its session, whose jobs the scheduler places at once."""

    render: Render
    plans_more: bool = False


@dataclass(frozen=True)
class RoomToMake:
    """A room the deliverer makes for a stand-in: the bot and these people, under this name, made
    once for `key` (see `bot.matrix.Matrix.group_room`)."""

    user_ids: list[str]
    name: str
    key: str


@dataclass(frozen=True)
class StandIns:
    """Rooms a feature names by a stand-in (no Matrix room id) in the outbox until the deliverer
    makes them, on the first message to them: `names` tells its stand-ins; `room` gives the room
    made before, or the room to make, or None when what it stood for is gone; `made` notes the room
    made for a stand-in."""

    names: Callable[[str], bool]
    room: Callable[[AsyncSession, str], Awaitable[str | RoomToMake | None]]
    made: Callable[[AsyncSession, str, str], Awaitable[None]]


class Relations(Protocol):
    """The homeserver, as content filled in at sending reads it."""

    async def relations(self, room_id: str, event_id: str) -> list[dict[str, Any]]: ...


# The content of an event about to go out to a room, completed from the homeserver.
FillIn = Callable[[Relations, str, dict[str, Any], Voice], Awaitable[dict[str, Any]]]
# Work done every few hours (see `bot.scheduler.PRUNE_EVERY`).
Periodic = Callable[[AsyncSession, Config, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Feature:
    """What one feature asks of the runtime (see the module docstring)."""

    name: str
    planned: Mapping[str, PlannedKind] = field(default_factory=dict)
    adds_to: Mapping[str, Addition] = field(default_factory=dict)
    stand_ins: StandIns | None = None
    fill_in: Mapping[str, FillIn] = field(default_factory=dict)
    periodic: tuple[Periodic, ...] = ()


class FeatureConflict(Exception):
    """Two features claim the same planned kind or event type."""


class Features:
    """The features the bot runs with, looked up by the runtime; a planned kind or event type
    claimed twice is refused when the bot is assembled."""

    def __init__(self, features: Iterable[Feature] = ()) -> None:
        self.planned: dict[str, PlannedKind] = {}
        self.fill_in: dict[str, FillIn] = {}
        self.stand_ins: list[StandIns] = []
        self.periodic: list[Periodic] = []
        self._additions: defaultdict[str, list[Addition]] = defaultdict(list)
        owners: dict[str, str] = {}
        for feature in features:
            for claimed in [*(f"planned kind {k}" for k in feature.planned), *(f"event {t}" for t in feature.fill_in)]:
                if claimed in owners:
                    raise FeatureConflict(f"{owners[claimed]} and {feature.name} both claim the {claimed}")
                owners[claimed] = feature.name
            self.planned.update(feature.planned)
            self.fill_in.update(feature.fill_in)
            for kind, addition in feature.adds_to.items():
                self._additions[kind].append(addition)
            self.stand_ins += [feature.stand_ins] if feature.stand_ins else []
            self.periodic += feature.periodic

    def additions(self, kind: str) -> list[Addition]:
        """What features add to a session's planned message of `kind`, in the order of the features."""
        return self._additions.get(kind, [])

    def stand_in(self, room_id: str) -> StandIns | None:
        """The feature's stand-ins that `room_id` is one of, if any."""
        return next((s for s in self.stand_ins if s.names(room_id)), None)
