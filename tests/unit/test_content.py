"""Event contents (pure): who a message mentions, and what it says about that."""

from __future__ import annotations

from rules.i18n import Message
from rules.rendering.content import edit_content, message_content

TEXT = Message("Ihre Anmeldung ist bestätigt.", "Ihre Anmeldung ist <b>bestätigt</b>.")
BERND = "@bernd:localhost"


def test_a_notice_that_mentions_nobody_carries_no_mentions():
    # Notices never notify (.m.rule.suppress_notices comes first); Synapse would check an empty
    # m.mentions against its schema all the same.
    content = message_content(TEXT, reply_to="$command")
    assert content["msgtype"] == "m.notice" and "m.mentions" not in content
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$command"}}


def test_a_text_says_whom_it_mentions_even_when_nobody():
    assert message_content(TEXT, notice=False)["m.mentions"] == {}  # a name in the text pings no one
    assert message_content(TEXT, notice=False, mentions=(BERND,))["m.mentions"] == {"user_ids": [BERND]}
    assert message_content(TEXT, mentions=(BERND,))["m.mentions"] == {"user_ids": [BERND]}


def test_an_edit_pings_nobody_again():
    edit = edit_content("$original", message_content(TEXT, notice=False, mentions=(BERND,)))
    assert edit["m.mentions"] == {} and edit["m.new_content"]["m.mentions"] == {"user_ids": [BERND]}
