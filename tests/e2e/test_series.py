"""A series in a real room: four Thursdays created in one go, registered for with one command and
with ✅ on the series' announcement, one part left, one calendar file, the parts listed together."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from storage.models import Registration, RegistrationStatus
from tests.e2e.people import body, shared_room
from tests.e2e.sessions import from_bot

pytestmark = pytest.mark.e2e

CREATE = """!reihe neu Online-Transferreihe | donnerstags 14–16 Uhr vom 5.11.2099 bis 26.11.2099
Teil 1: Verwaltung transformieren – Effizienz steigern
Teil 2: Mobiles Arbeiten
Teil 3: Gemeinsame Beschaffung
Teil 4: Fördermittelberatung
Plätze: 2"""


async def test_a_four_part_series(people, bot_config, run_bot):
    anna, bernd, clara = await people("anna"), await people("bernd"), await people("clara")
    running = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, running.user_id, bernd, clara)

    created = body(await anna.ask(room, CREATE))
    assert "Reihe 1" in created and "4 Terminen" in created
    for part, day in enumerate(("5. November", "12. November", "19. November", "26. November"), start=1):
        assert f"Teil {part} · #{part} · Donnerstag, {day} 2099, 14:00–16:00 Uhr" in created
    assert "Verwaltung transformieren – Effizienz steigern" in created
    (announcement,) = await clara.wait_for(from_bot(running.user_id, room, "Neue Reihe"))
    assert "Fördermittelberatung" in body(announcement) and "!anmelden Reihe 1" in body(announcement)

    registered = body(await bernd.ask(room, "!anmelden Reihe 1 Stadt Bielefeld"))
    assert registered.count(": angemeldet") == 4 and all(f"#{n}" in registered for n in (1, 2, 3, 4))

    # ✅ on the series' announcement: every part, one answer, privately.
    await clara.react(room, announcement["event_id"], "✅")
    (by_reaction,) = await clara.wait_for(
        lambda e: e["sender"] == running.user_id and e["room_id"] != room and "Ihre Anmeldung zu" in body(e)
    )
    assert body(by_reaction).count(": angemeldet") == 4

    again = body(await bernd.ask(room, "!anmelden Reihe 1"))
    assert again.count("bereits angemeldet") == 4

    left = body(await bernd.ask(room, "!abmelden #2"))
    assert "abgemeldet" in left and "#2" in left
    assert running.bot is not None
    async with running.bot.db.transaction() as s:
        rows = (await s.exec(Registration.__table__.select())).all()
    states = {(row.user_id, row.session_id): row.status for row in rows}
    assert states[(bernd.user_id, 2)] == RegistrationStatus.CANCELLED
    assert [states[(bernd.user_id, n)] for n in (1, 3, 4)] == [RegistrationStatus.REGISTERED] * 3
    assert [states[(clara.user_id, n)] for n in (1, 2, 3, 4)] == [RegistrationStatus.REGISTERED] * 4

    first = await bernd.ask(room, "!kalender Reihe 1")
    assert first["content"]["msgtype"] == "m.file" and first["content"]["info"]["mimetype"] == "text/calendar"
    events = Calendar.from_ical(await bernd.download(first)).walk("VEVENT")
    assert len(events) == 4
    assert str(events[1]["summary"]) == "Mobiles Arbeiten"
    assert [e.decoded("dtstart").strftime("%d.%m.%Y %H:%M") for e in events] == [
        f"{day}.11.2099 14:00" for day in ("05", "12", "19", "26")
    ]
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == 4
    single = Calendar.from_ical(await bernd.download(await bernd.ask(room, "!kalender #3")))
    (third,) = single.walk("VEVENT")
    assert str(third["uid"]) == uids[2]  # the same entry as the part's own file
    second = Calendar.from_ical(await clara.download(await clara.ask(room, "!kalender Reihe 1")))
    assert [str(e["uid"]) for e in second.walk("VEVENT")] == uids  # stable

    listing = body(await clara.ask(room, "!termine"))
    assert "Reihe 1: Online-Transferreihe" in listing and listing.count("↳") == 4
    head = listing.index("Reihe 1: Online-Transferreihe")
    assert all(listing.index(f"#{n} ·") > head for n in (1, 2, 3, 4))

    mine = body(await bernd.ask(room, "!meine"))
    assert "Reihe 1: Online-Transferreihe" in mine and mine.count("↳") == 3 and "#2" not in mine
