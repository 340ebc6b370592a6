"""A live Q&A round with several real clients: questions before and in the thread (also anonymous
by direct message), votes and un-votes by 👍 and its redaction, answered and hidden, the ranked
digest (as a message and as a Markdown file), and the round's summary in the protocol."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.people import Event, body, shared_room
from tests.e2e.sessions import add_session, from_bot

pytestmark = pytest.mark.e2e


def in_thread(root: str):
    def match(e: Event) -> bool:
        relates = e.get("content", {}).get("m.relates_to") or {}
        return relates.get("rel_type") == "m.thread" and relates.get("event_id") == root

    return match


async def test_live_qa_round(people, bot_config, run_bot):
    anna, bernd, clara, dora = [await people(name) for name in ("anna", "bernd", "clara", "dora")]
    bot = await run_bot(await bot_config(coordinators=[anna.user_id]))
    room = await shared_room(anna, bot.user_id, bernd, clara, dora)
    sid = await add_session(bot, room, timedelta(minutes=10))
    await bernd.ask(room, f"!anmelden #{sid}")

    # Before the round: a question with a name, and one anonymous by direct message.
    assert "Nr. 1" in body(await bernd.ask(room, f"!frage #{sid} Wie lange hat die Umsetzung gedauert?"))
    refused = await clara.ask(room, f"!frage anonym #{sid} Was hat es gekostet?")
    assert "Direktnachricht" in body(refused)
    direct = await clara.create_room(invite=[bot.user_id], name=None, direct=True)
    await clara.wait_for(from_bot(bot.user_id, direct, "regiobot"))
    assert "Nr. 2" in body(await clara.ask(direct, f"!frage anonym #{sid} Was hat es gekostet?"))
    assert "vorbehalten" in body(await bernd.ask(room, "!fragerunde start"))

    started = await anna.ask(room, "!fragerunde start")
    assert "eröffnet" in body(started) and "2 vorab" in body(started)
    root = (await dora.wait_for(from_bot(bot.user_id, room, "❓ Fragerunde zu")))[0]["event_id"]
    first, second = await dora.wait_for(in_thread(root), count=2)
    assert "Frage 1" in body(first) and "bernd" in body(first)
    assert "Frage 2" in body(second) and "(anonym)" in body(second)
    assert clara.user_id not in str(second) and "clara" not in body(second)

    # A question in the thread: numbered, acknowledged with a reaction.
    asked = await dora.say(room, "Gibt es dafür Fördermittel?", thread_root=root)
    await dora.wait_for(
        lambda e: (
            e.get("type") == "m.reaction"
            and e["sender"] == bot.user_id
            and e["content"]["m.relates_to"]["event_id"] == asked
        )
    )

    # Votes: every 👍 counts once, the asker's own too (so the count is what everyone sees, and
    # gives no anonymous asker away); a redaction takes a vote back.
    await bernd.react(room, asked, "👍")
    await anna.react(room, asked, "👍")
    taken_back = await clara.react(room, asked, "👍")
    await dora.react(room, asked, "👍")  # her own question: counted like any other
    await dora.react(room, second["event_id"], "👍")
    await clara.react(room, second["event_id"], "👍")  # her own anonymous question: counted too
    await bernd.react(room, first["event_id"], "👍")  # his own question
    await clara.redact(room, taken_back)

    ranking = body(await anna.ask(room, "!fragen", thread_root=root))
    lines = [line for line in ranking.split("\n") if line.startswith("Nr.")]
    assert [line.split(" · ")[:2] for line in lines] == [["Nr. 3", "3 👍"], ["Nr. 2", "2 👍"], ["Nr. 1", "1 👍"]]
    assert "vorbehalten" in body(await dora.ask(room, "!fragen"))

    assert "beantwortet" in body(await anna.ask(room, "!beantwortet 3", thread_root=root))
    told = (await dora.wait_for(lambda e: e["room_id"] != room and "wurde beantwortet" in body(e)))[0]
    assert "Fördermittel" in body(told)
    assert "ausgeblendet" in body(await anna.ask(room, "!verbergen 1"))
    assert "gibt es in dieser Fragerunde nicht" in body(await anna.ask(room, "!beantwortet 9"))

    ended = await anna.ask(room, "!fragerunde ende")
    assert "beendet" in body(ended)
    digest = (await dora.wait_for(lambda e: in_thread(root)(e) and "Beantwortet (1)" in body(e)))[0]
    text = body(digest)
    assert text.index("Nr. 3") < text.index("Offen geblieben (1)") < text.index("Nr. 2")
    assert "Wie lange" not in text  # hidden
    markdown_file = (await dora.wait_for(lambda e: in_thread(root)(e) and e["content"].get("msgtype") == "m.file"))[0]
    markdown = (await dora.download(markdown_file)).decode()
    assert markdown.startswith("# Fragerunde zu") and "## Beantwortet \\(1\\)" in markdown
    assert "Fördermittel" in markdown

    late = await dora.ask(room, "Noch eine Frage?", thread_root=root)
    assert "beendet" in body(late)

    await anna.ask(room, f"!protokoll #{sid} https://example.org/protokoll.pdf")
    protocol = (await bernd.wait_for(from_bot(bot.user_id, room, "ist online")))[0]
    assert "1 Fragen beantwortet, 1 offen" in body(protocol)
