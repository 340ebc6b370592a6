"""The board's use cases called directly, as the web face will call them: who may do what (the
author, a coordinator of the official board room), the caps per person, and what each queues."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from rules.board import MAX_CONTACTS_PER_DAY, MAX_DESCRIPTION, MAX_OPEN_ENTRIES, Draft, EntryKind, EntryState
from rules.errors import UserError
from services import board as use
from storage import board, outbox
from storage.municipalities import set_municipality
from storage.outbox import REDACTION
from tests.unit.fakes import NOW, FakeRooms, acting_for, configured

BOARD_ROOM, OTHER_OFFICIAL, OWN_ROOM = "!brett:localhost", "!bielefeld:localhost", "!own:localhost"
CONFIG_COORDINATOR = "@coord:localhost"
BOARD_COORDINATOR = "@brettkoord:localhost"  # power level 100 in the board room
ELSEWHERE_COORDINATOR = "@koord:localhost"  # power level 100 in another official room only
OWN_ROOM_COORDINATOR = "@owner:localhost"  # power level 100 only in a room of their own
BERND, CLARA, DORA = "@bernd:localhost", "@clara:localhost", "@dora:localhost"
DAY = timedelta(days=1)


@contextmanager
def refused(key: str) -> Iterator[None]:
    """The use case inside refuses with the catalogue entry `key`."""
    with pytest.raises(UserError) as refusal:
        yield
    assert refusal.value.key == key


@pytest.fixture
async def setup(tmp_path: Path, migrated_url: str):
    config, db = await configured(
        tmp_path, CONFIG_COORDINATOR, migrated_url, rooms={BOARD_ROOM: "beide", OTHER_OFFICIAL: "Bielefeld"}
    )
    rooms = FakeRooms()
    rooms.levels.update(
        {
            (BOARD_ROOM, BOARD_COORDINATOR): 100,
            (OTHER_OFFICIAL, ELSEWHERE_COORDINATOR): 100,
            (OWN_ROOM, OWN_ROOM_COORDINATOR): 100,
        }
    )
    async with db.transaction() as s:
        await board.choose_board_room(s, BOARD_ROOM)
        for person in (BERND, CLARA, DORA):
            await set_municipality(s, person, "Verl", True, NOW)
    yield config, db, rooms
    await db.close()


async def offer(setup, author: str = BERND, title: str = "Zentrale Vergabestelle", now=NOW):
    """A new offer by `author`, its messages written to the outbox; (what was made, the action)."""
    config, db, rooms = setup
    act = acting_for(config, author, BOARD_ROOM, rooms, now)
    async with db.transaction() as s:
        made = await use.create(act, s, EntryKind.OFFER, Draft("Vergabe", title, None))
        await outbox.enqueue_all(s, act.messages, now)
    return made, act


async def act_on(setup, sender: str, room_id: str, work, *args, now=NOW):
    config, db, rooms = setup
    act = acting_for(config, sender, room_id, rooms, now)
    async with db.transaction() as s:
        return await work(act, s, *args), act


async def test_only_a_coordinator_of_the_board_room_hides_an_entry(setup):
    made, _ = await offer(setup)
    number = made.entry.id
    for person, room in [
        (CLARA, BOARD_ROOM),  # staff
        (ELSEWHERE_COORDINATOR, OTHER_OFFICIAL),  # power in another official room gives no say here
        (ELSEWHERE_COORDINATOR, BOARD_ROOM),
        (OWN_ROOM_COORDINATOR, OWN_ROOM),  # power in a room of one's own gives none at all
        (BERND, BOARD_ROOM),  # the author withdraws the entry instead
    ]:
        with refused("board.hide_refused"):
            await act_on(setup, person, room, use.hide, number, "Werbung")
    hidden, act = await act_on(setup, BOARD_COORDINATOR, "", use.hide, number, "Werbung")  # from the web too
    assert not hidden.before and hidden.entry.state == EntryState.HIDDEN
    told = [m for m, _ in act.messages if m.user_id == BERND]
    assert len(told) == 1 and "Werbung" in told[0].content["body"] and "gesperrt" in told[0].content["body"]
    again, act = await act_on(setup, CONFIG_COORDINATOR, OWN_ROOM, use.hide, number, None)  # the config's, anywhere
    assert again.before and not [m for m, _ in act.messages if m.user_id]  # the author is not told twice


async def test_a_hidden_entry_is_gone_for_everyone_and_its_card_redacted(setup):
    _, db, _ = setup
    made, _ = await offer(setup)
    number = made.entry.id
    async with db.transaction() as s:  # the card went out
        await outbox.mark_sent(s, (await outbox.lane_heads(s, set()))[0], "$card", BOARD_ROOM, NOW)
    _, act = await act_on(setup, BOARD_COORDINATOR, BOARD_ROOM, use.hide, number, None)
    redactions = [m for m, _ in act.messages if m.event_type == REDACTION]
    assert [(m.room_id, m.content["redacts"]) for m in redactions] == [(BOARD_ROOM, "$card")]
    assert "keiner angegeben" in next(m.content["body"] for m, _ in act.messages if m.user_id == BERND)
    with refused("board.not_active"):
        await act_on(setup, CLARA, BOARD_ROOM, use.contact, number)
    for work, args in [(use.set_state, (EntryState.OPEN,)), (use.renew, ())]:
        with refused("board.hidden"):
            await act_on(setup, BERND, BOARD_ROOM, work, number, *args)
    with refused("board.empty"):
        await act_on(setup, DORA, "", use.find, "")


async def test_a_card_not_sent_yet_is_never_sent_once_its_entry_is_hidden(setup):
    _, db, _ = setup
    made, _ = await offer(setup)
    _, act = await act_on(setup, BOARD_COORDINATOR, BOARD_ROOM, use.hide, made.entry.id, "Spam")
    assert not [m for m, _ in act.messages if m.event_type == REDACTION]
    async with db.transaction() as s:
        waiting = await outbox.lane_heads(s, set())
    assert [row.records for row in waiting if row.room_id == BOARD_ROOM] == []


async def test_only_the_author_changes_renews_or_declines(setup):
    made, _ = await offer(setup)
    number = made.entry.id
    await act_on(setup, CLARA, BOARD_ROOM, use.contact, number)
    for person in (CLARA, CONFIG_COORDINATOR, BOARD_COORDINATOR):
        for work, args in [(use.set_state, (EntryState.DONE,)), (use.renew, ()), (use.decline, ())]:
            with refused("board.author_only"):
                await act_on(setup, person, BOARD_ROOM, work, number, *args)
    changed, _ = await act_on(setup, BERND, "", use.set_state, number, EntryState.AGREED)
    assert changed.state == EntryState.AGREED


async def test_contacts_once_per_entry_and_a_few_a_day(setup):
    made, _ = await offer(setup)
    number = made.entry.id
    with refused("board.contact_own"):
        await act_on(setup, BERND, BOARD_ROOM, use.contact, number)
    entry, act = await act_on(setup, CLARA, BOARD_ROOM, use.contact, number)
    assert entry.state == EntryState.TALKING
    assert any(board.contact_of_room(m.room_id) for m, _ in act.messages)  # the introduction in the new room
    await act_on(setup, BERND, "", use.decline, number)
    with refused("board.contact_exists"):  # declined or not: once
        await act_on(setup, CLARA, BOARD_ROOM, use.contact, number)

    numbers = []
    for n in range(MAX_CONTACTS_PER_DAY + 1):
        author = BERND if n < MAX_OPEN_ENTRIES - 1 else CLARA  # Bernd has one already
        numbers.append((await offer(setup, author, f"Angebot {n}"))[0].entry.id)
    for number in numbers[:MAX_CONTACTS_PER_DAY]:
        await act_on(setup, DORA, BOARD_ROOM, use.contact, number)
    with pytest.raises(UserError) as capped:
        await act_on(setup, DORA, BOARD_ROOM, use.contact, numbers[MAX_CONTACTS_PER_DAY])
    assert capped.value.key == "board.too_many_contacts" and capped.value.params == {"maximum": MAX_CONTACTS_PER_DAY}
    later = NOW + DAY
    entry, _ = await act_on(setup, DORA, BOARD_ROOM, use.contact, numbers[MAX_CONTACTS_PER_DAY], now=later)
    assert entry.state == EntryState.TALKING


async def test_a_person_has_a_few_entries_on_the_board_at_a_time(setup):
    config, _, _ = setup
    made = [(await offer(setup, title=f"Angebot {n}"))[0].entry for n in range(MAX_OPEN_ENTRIES)]
    with pytest.raises(UserError) as capped:
        await offer(setup, title="Eines zu viel")
    assert capped.value.key == "board.too_many_entries" and capped.value.params == {"maximum": MAX_OPEN_ENTRIES}
    await act_on(setup, BERND, "", use.set_state, made[0].id, EntryState.AGREED)  # no longer open
    last = (await offer(setup, title="Jetzt geht es"))[0].entry
    with refused("board.too_many_entries"):  # open again would be one too many
        await act_on(setup, BERND, "", use.set_state, made[0].id, EntryState.OPEN)
    expired = NOW + config.board.expiry + DAY  # every one has expired: renewing puts it on the board again
    for entry in made[1:]:
        await act_on(setup, BERND, "", use.renew, entry.id, now=expired)
    await offer(setup, title="Neu", now=expired)
    with refused("board.too_many_entries"):
        await act_on(setup, BERND, "", use.renew, last.id, now=expired)


async def test_an_entry_is_refused_beyond_what_its_card_shows(setup):
    config, db, rooms = setup
    with pytest.raises(UserError) as too_long:
        Draft("Vergabe", "Vergabestelle", "x" * (MAX_DESCRIPTION + 1))
    assert too_long.value.params == {"maximum": MAX_DESCRIPTION, "length": MAX_DESCRIPTION + 1}
    act = acting_for(config, "@nobody:localhost", BOARD_ROOM, rooms)
    async with db.transaction() as s:
        with refused("board.municipality_missing"):
            await use.create(act, s, EntryKind.NEED, Draft("Vergabe", "Vergabestelle", None))


async def test_a_card_goes_only_to_an_official_board_room(setup):
    _, db, _ = setup
    made, act = await offer(setup)
    assert made.on_board and [m.room_id for m, _ in act.messages if m.room_id] == [BOARD_ROOM]
    async with db.transaction() as s:
        await board.choose_board_room(s, OWN_ROOM)  # a room that is no longer official, say
    made, act = await offer(setup, CLARA)
    assert not made.on_board and not [m for m, _ in act.messages if m.room_id]
