"""Features plug into the runtime (`bot.features`): a planned kind is rendered by the feature that
declares it, one left without its feature waits, two features cannot claim the same kind, and the
scheduler and the deliverer name none of the bot's features."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.features import Due, Feature, FeatureConflict, Features, PlannedKind, Skip, Timed
from bot.scheduler import Scheduler
from rules.i18n import Message
from rules.rendering.content import message_content
from services import board_upkeep, feedback_upkeep, poll_upkeep, privacy_upkeep, qa_upkeep
from storage import outbox, planned
from storage.models import PlannedMessage, PlannedStatus
from storage.rows import save
from tests.unit.fakes import COORDINATOR, NOW, configured

ROOT = Path(__file__).resolve().parents[2]
BERND = "@bernd:localhost"


async def greeting(s, due: Due) -> list[Timed] | Skip:
    """A feature's own kind of planned message: a greeting to one person."""
    content = message_content(Message("Guten Morgen", "Guten Morgen"), notice=False, mentions=(BERND,))
    return [due.message(content, due.now + timedelta(hours=2), user_id=BERND)]


GREETINGS = Feature("greetings", planned={"greeting": PlannedKind(greeting)})


@pytest.fixture
async def planned_greeting(tmp_path, migrated_url):
    config, db = await configured(tmp_path, COORDINATOR, migrated_url)
    async with db.transaction() as s:
        row = await save(
            s, PlannedMessage(key="greeting:1", kind="greeting", user_id=BERND, due_at=NOW, created_at=NOW)
        )
    yield config, db, row.id
    await db.close()


async def test_a_planned_kind_is_rendered_by_the_feature_that_declares_it(planned_greeting):
    config, db, row_id = planned_greeting
    await Scheduler(config, db, lambda: None, lambda: NOW, features=Features([GREETINGS])).deliver(row_id)
    async with db.transaction() as s:
        row = await planned.planned(s, row_id)
        (sent,) = await outbox.lane_heads(s, exclude=set())
    assert row is not None and row.status == PlannedStatus.SENT
    assert sent.user_id == BERND and "Guten Morgen" in sent.content and sent.records == f"planned:{row_id}"


async def test_a_planned_kind_whose_feature_is_missing_waits(planned_greeting):
    config, db, row_id = planned_greeting
    await Scheduler(config, db, lambda: None, lambda: NOW).deliver(row_id)  # logged, never raised
    async with db.transaction() as s:
        row = await planned.planned(s, row_id)
        assert await outbox.lane_heads(s, exclude=set()) == []
    assert row is not None and row.status == PlannedStatus.PENDING


def test_two_features_claiming_one_kind_are_refused():
    with pytest.raises(FeatureConflict, match="greetings and copy"):
        Features([GREETINGS, Feature("copy", planned=dict(GREETINGS.planned))])


def test_the_runtime_names_none_of_the_features():
    declared = (board_upkeep, feedback_upkeep, poll_upkeep, privacy_upkeep, qa_upkeep)
    names = {module.FEATURE.name.rstrip("s") for module in declared}
    for module in ("bot/scheduler.py", "bot/deliverer.py"):
        source = (ROOT / module).read_text()
        named = {name for name in names if re.search(rf"\b{name}", source, re.IGNORECASE)}
        assert named == set(), f"{module} names {named}"
