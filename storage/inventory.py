"""The data-protection inventory: every column that holds personal data, with what `!meine-daten`
exports of it (`storage.export`), what `!daten-löschen` does with it and what the retention purge
does with it (`storage.purge`).

docs/privacy.md lists the same entries, and a unit test fails for a column holding a user
id that is not declared here, so a new table cannot be forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Coverage:
    """How one column with personal data is covered.

    `export` is the section of the `!meine-daten` file that shows it; `delete` and `purge` say
    what `!daten-löschen ja` and the retention purge (`purge_ended`) do with it."""

    export: str
    delete: str
    purge: str


# (table, column) → coverage. Every column holding a Matrix user id, and every free text that
# names or quotes people, is declared here (tests/unit/test_privacy.py checks it against the models).
PERSONAL_DATA: dict[tuple[str, str], Coverage] = {
    ("registrations", "user_id"): Coverage(
        export="registrations",
        delete="row deleted (an upcoming place is cancelled first, the waiting list moves up)",
        purge="row deleted when its session ended more than retention_days ago",
    ),
    ("registrations", "municipality"): Coverage(
        export="registrations", delete="deleted with the row", purge="deleted with the row"
    ),
    ("registrations", "reaction_event_id"): Coverage(
        export="registrations (by_reaction)", delete="deleted with the row", purge="deleted with the row"
    ),
    ("person_settings", "user_id"): Coverage(
        export="settings",
        delete="row deleted",
        purge="row deleted when the person holds no registration any more and the settings were last "
        "changed more than retention_days ago",
    ),
    ("sessions", "created_by"): Coverage(
        export="sessions_created",
        delete="replaced by (gelöscht)",
        purge="replaced by (gelöscht) when the session ended more than retention_days ago",
    ),
    ("materials", "added_by"): Coverage(
        export="materials_added",
        delete="replaced by (gelöscht)",
        purge="replaced by (gelöscht) when the session ended more than retention_days ago",
    ),
    ("planned_messages", "user_id"): Coverage(
        export="direct_messages",
        delete="rows deleted (planned direct messages are not sent any more)",
        purge="rows deleted when the session ended more than retention_days ago",
    ),
    ("planned_messages", "key"): Coverage(
        export="direct_messages (as kind and due time)",
        delete="deleted with the row (a direct reminder's key ends in the person's id)",
        purge="deleted with the row",
    ),
    ("direct_rooms", "user_id"): Coverage(
        export="direct_room",
        delete="row deleted (a later message opens a new direct chat)",
        purge="row deleted together with the person's settings (no registration left, idle for retention_days)",
    ),
    ("qa_rounds", "opened_by"): Coverage(
        export="rounds_opened",
        delete="replaced by (gelöscht)",
        purge="replaced by (gelöscht) when the session ended more than retention_days ago",
    ),
    ("qa_rounds", "digest"): Coverage(
        export="questions (the digest quotes one's questions)",
        delete="deleted (set empty) for every round of a session in which the person asked a question",
        purge="deleted (set empty) when the session ended more than retention_days ago",
    ),
    ("questions", "author"): Coverage(
        export="questions",
        delete="replaced by (gelöscht)",
        purge="replaced by (gelöscht) when the session ended more than retention_days ago",
    ),
    ("questions", "text"): Coverage(
        export="questions",
        delete="replaced by (gelöscht)",
        purge="kept without its author (no longer linked to anyone)",
    ),
    ("votes", "user_id"): Coverage(
        export="votes",
        delete="rows deleted",
        purge="rows deleted when the session ended more than retention_days ago",
    ),
    ("topics", "proposed_by"): Coverage(
        export="topics_proposed",
        delete="replaced by (gelöscht) (the wish stays, it is the room's)",
        purge="replaced by (gelöscht) when the wish was proposed more than retention_days ago",
    ),
    ("topic_votes", "user_id"): Coverage(
        export="topic_votes",
        delete="rows deleted",
        purge="rows deleted when the wish was planned or closed more than retention_days ago; set empty "
        "when the vote was given more than retention_days ago (the vote of an open wish counts on, linked to no one)",
    ),
    ("talk_offers", "user_id"): Coverage(
        export="talk_offers",
        delete="rows deleted",
        purge="rows deleted when made more than retention_days ago",
    ),
    ("feedback_answers", "respondent"): Coverage(
        export="feedback (one's own answers, found by computing the keyed hash for each session)",
        delete="rows deleted (found the same way)",
        purge="set empty when the session ended more than retention_days ago: the answer stays, linked to no one",
    ),
    ("feedback_answers", "text"): Coverage(
        export="feedback",
        delete="deleted with the row",
        purge="kept without the hash (linked to no one)",
    ),
    ("polls", "opened_by"): Coverage(
        export="polls_opened",
        delete="replaced by (gelöscht)",
        purge="replaced by (gelöscht) when the session ended more than retention_days ago",
    ),
    ("person_municipalities", "user_id"): Coverage(
        export="municipality",
        delete="row deleted",
        purge="row deleted when the person holds no registration any more and set it more than retention_days ago",
    ),
    ("person_municipalities", "name"): Coverage(
        export="municipality", delete="deleted with the row", purge="deleted with the row"
    ),
    ("outbox", "user_id"): Coverage(
        export="pending_messages",
        delete="rows of direct messages to the person deleted (pending ones are not sent any more)",
        purge="rows no longer pending deleted once created more than retention_days ago",
    ),
    ("outbox", "lane"): Coverage(
        export="pending_messages",
        delete="deleted with the row (a direct chat's lane is dm:<id>)",
        purge="deleted with the row",
    ),
    ("board_entries", "author"): Coverage(
        export="board_entries",
        delete="rows deleted (with their contacts and planned messages); their cards are edited to say so, "
        "and the cards and their earlier edits redacted",
        purge="rows deleted once expired or closed more than retention_days ago",
    ),
    ("board_entries", "title"): Coverage(
        export="board_entries", delete="deleted with the row", purge="deleted with the row"
    ),
    ("board_entries", "description"): Coverage(
        export="board_entries", delete="deleted with the row", purge="deleted with the row"
    ),
    ("board_entries", "municipality"): Coverage(
        export="board_entries", delete="deleted with the row", purge="deleted with the row"
    ),
    ("board_contacts", "asked_by"): Coverage(
        export="board_contacts",
        delete="rows deleted (the person's own requests, and all requests about the person's entries)",
        purge="rows deleted with their entry, or when made more than retention_days ago",
    ),
    ("board_contacts", "room_id"): Coverage(
        export="board_contacts", delete="deleted with the row", purge="deleted with the row"
    ),
    ("outbox", "key"): Coverage(export="pending_messages", delete="deleted with the row", purge="deleted with the row"),
    ("outbox", "content"): Coverage(
        export="pending_messages",
        delete="deleted with the row; room messages that name the person deleted (pending ones are not sent)",
        purge="deleted with the row; a secret message's (the personal feed's address) is erased once delivered",
    ),
    ("calendar_tokens", "user_id"): Coverage(
        export="calendar_feed",
        delete="row deleted (the personal feed address stops working)",
        purge="row deleted together with the person's settings (no registration left, idle for retention_days)",
    ),
    ("calendar_tokens", "token_hash"): Coverage(
        export="calendar_feed (that a feed exists and since when; the address itself is not stored)",
        delete="deleted with the row",
        purge="deleted with the row",
    ),
    ("room_invitations", "inviter"): Coverage(
        export="rooms_invited",
        delete="rows deleted (those rooms no longer count against the person's cap)",
        purge="row deleted when the bot leaves the room or is removed from it, and at the latest when it "
        "joined more than retention_days ago",
    ),
    ("outbox", "attachment"): Coverage(
        export="pending_messages (file name)",
        delete="deleted with the row",
        purge="deleted with the row",
    ),
    ("web_logins", "user_id"): Coverage(
        export="web_sessions (a login link lives ten minutes and is not exported)",
        delete="rows deleted (an unused link stops working)",
        purge="rows deleted once expired (whenever a new link is made, and by the purge)",
    ),
    ("web_logins", "token_hash"): Coverage(
        export="web_sessions (the link itself is not stored)",
        delete="deleted with the row",
        purge="deleted with the row",
    ),
    ("web_sessions", "user_id"): Coverage(
        export="web_sessions (since when and until when; the cookie itself is not stored)",
        delete="rows deleted (every browser is signed out)",
        purge="rows deleted once expired (whenever a new session is opened, and by the purge)",
    ),
    ("web_sessions", "token_hash"): Coverage(
        export="web_sessions", delete="deleted with the row", purge="deleted with the row"
    ),
}
