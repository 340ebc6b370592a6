"""People: their settings, everything stored about one person, and deleting it (DSGVO).

`PERSONAL_DATA` is the data-protection inventory: every column that holds personal data, with
what `!meine-daten` exports of it, what `!daten-löschen` does with it and what the retention
purge does with it. docs/privacy.md lists the same entries, and a unit test fails for a
column holding a user id that is not declared here, so a new table cannot be forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.board import FINAL
from storage import feedback
from storage.feedback import KeyOf
from storage.models import (
    BoardContact,
    BoardEntry,
    CalendarToken,
    DirectRoom,
    FeedbackAnswer,
    Material,
    OutboxMessage,
    OutboxStatus,
    ParticipationCount,
    PersonMunicipality,
    PersonSettings,
    PlannedMessage,
    Poll,
    QaRound,
    Question,
    Registration,
    RegistrationStatus,
    Session,
    TalkOffer,
    Topic,
    TopicVote,
    Vote,
    WebLogin,
    WebSession,
)
from storage.rows import Row, save

# What stands in for a deleted person where a record must stay.
FORGOTTEN = "(gelöscht)"


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
        purge="replaced by (gelöscht) when the wish was planned or closed more than retention_days ago",
    ),
    ("topic_votes", "user_id"): Coverage(
        export="topic_votes",
        delete="rows deleted",
        purge="rows deleted when the wish was planned or closed more than retention_days ago",
    ),
    ("talk_offers", "user_id"): Coverage(
        export="talk_offers",
        delete="rows deleted",
        purge="rows deleted when the wish was planned or closed more than retention_days ago",
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
        delete="rows deleted (with their contacts and planned messages); their cards are edited to say so",
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
        delete="deleted with the row; sent room messages that name the person deleted",
        purge="deleted with the row",
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


async def settings_for(s: AsyncSession, user_id: str, now: datetime) -> PersonSettings:
    """A person's settings: the stored ones, or new defaults (saved only when the caller saves them)."""
    return await s.get(PersonSettings, user_id) or PersonSettings(user_id=user_id, updated_at=now)


@dataclass(frozen=True)
class PersonData:
    """Everything stored about one person."""

    settings: PersonSettings | None
    registrations: list[tuple[Registration, Session]]
    sessions_created: list[Session]
    materials_added: list[Material]
    direct_messages: list[PlannedMessage]
    questions: list[Question]
    votes: list[tuple[Vote, Question]]
    rounds_opened: list[QaRound]
    pending_messages: list[OutboxMessage]
    direct_room: DirectRoom | None = None
    topics_proposed: list[Topic] = field(default_factory=list)
    topic_votes: list[tuple[TopicVote, Topic]] = field(default_factory=list)
    talk_offers: list[tuple[TalkOffer, Topic]] = field(default_factory=list)
    feedback: list[FeedbackAnswer] = field(default_factory=list)
    polls_opened: list[Poll] = field(default_factory=list)
    board_entries: list[BoardEntry] = field(default_factory=list)
    board_contacts: list[tuple[BoardContact, BoardEntry]] = field(default_factory=list)
    municipality: PersonMunicipality | None = None
    calendar_token: CalendarToken | None = None
    web_sessions: list[WebSession] = field(default_factory=list)


async def person_data(s: AsyncSession, user_id: str, key_of: KeyOf | None = None) -> PersonData:
    """Everything stored about a person; their feedback answers only with `key_of` (their keyed
    hash for a session id), since nothing else links an answer to them."""
    registrations = await s.exec(
        select(Registration, Session)
        .join(Session, col(Session.id) == col(Registration.session_id))
        .where(Registration.user_id == user_id)
        .order_by(col(Session.starts_at))
    )
    created = await s.exec(select(Session).where(Session.created_by == user_id).order_by(col(Session.id)))
    added = await s.exec(select(Material).where(Material.added_by == user_id).order_by(col(Material.id)))
    direct = await s.exec(
        select(PlannedMessage).where(PlannedMessage.user_id == user_id).order_by(col(PlannedMessage.due_at))
    )
    asked = await s.exec(select(Question).where(Question.author == user_id).order_by(col(Question.asked_at)))
    votes = await s.exec(
        select(Vote, Question)
        .join(Question, col(Question.id) == col(Vote.question_id))
        .where(Vote.user_id == user_id)
        .order_by(col(Vote.voted_at))
    )
    opened = await s.exec(select(QaRound).where(QaRound.opened_by == user_id).order_by(col(QaRound.opened_at)))
    pending = await s.exec(
        select(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(col(OutboxMessage.id))
    )
    entries = await s.exec(select(BoardEntry).where(BoardEntry.author == user_id).order_by(col(BoardEntry.id)))
    contacts = await s.exec(
        select(BoardContact, BoardEntry)
        .join(BoardEntry, col(BoardEntry.id) == col(BoardContact.entry_id))
        .where(BoardContact.asked_by == user_id)
        .order_by(col(BoardContact.id))
    )
    return PersonData(
        await s.get(PersonSettings, user_id),
        [(r, x) for r, x in registrations.all()],
        list(created.all()),
        list(added.all()),
        list(direct.all()),
        list(asked.all()),
        [(v, q) for v, q in votes.all()],
        list(opened.all()),
        list(pending.all()),
        await s.get(DirectRoom, user_id),
        list((await s.exec(select(Topic).where(Topic.proposed_by == user_id).order_by(col(Topic.id)))).all()),
        await _with_topics(s, TopicVote, user_id),
        await _with_topics(s, TalkOffer, user_id),
        await feedback.own_answers(s, key_of) if key_of else [],
        list((await s.exec(select(Poll).where(Poll.opened_by == user_id).order_by(col(Poll.id)))).all()),
        list(entries.all()),
        [(c, e) for c, e in contacts.all()],
        await s.get(PersonMunicipality, user_id),
        await s.get(CalendarToken, user_id),
        list((await s.exec(select(WebSession).where(WebSession.user_id == user_id))).all()),
    )


async def _with_topics(s: AsyncSession, model: type[Row], user_id: str) -> list[tuple[Row, Topic]]:
    """A person's rows of a table about topic wishes (votes, talk offers), each with its wish."""
    query = (
        select(model, Topic)
        .join(Topic, col(Topic.id) == model.topic_id)  # type: ignore[attr-defined]
        .where(model.user_id == user_id)  # type: ignore[attr-defined]
        .order_by(col(model.id))  # type: ignore[attr-defined]
    )
    return [(row, topic) for row, topic in (await s.exec(query)).all()]


async def direct_room_of(s: AsyncSession, user_id: str) -> str | None:
    """The direct chat the bot made with this person, if it recorded one."""
    row = await s.get(DirectRoom, user_id)
    return row.room_id if row else None


async def record_direct_room(s: AsyncSession, user_id: str, room_id: str, now: datetime) -> None:
    """Remember the direct chat the bot just made with this person (replacing an older one)."""
    row = await s.get(DirectRoom, user_id) or DirectRoom(user_id=user_id, room_id=room_id, created_at=now)
    row.room_id, row.created_at = room_id, now
    await save(s, row)


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere (its own wildcards taken literally, escaped with \\)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def forget_person(
    s: AsyncSession, user_id: str, placeholder: str = FORGOTTEN, key_of: KeyOf | None = None
) -> int:
    """Delete a person's registrations, settings, votes, talk offers, direct messages, board entries
    and contact requests; where a
    record must stay (a session they created, material they added, a round they opened, a
    question they asked, a topic they wished for) their id is replaced by `placeholder`, and so is
    the text of their questions. The stored digest of a round that quoted one of their questions
    is deleted. With `key_of`, their feedback answers are found and deleted too; how many."""
    asked_in = select(Question.session_id).where(Question.author == user_id)
    await s.exec(update(QaRound).where(col(QaRound.session_id).in_(asked_in)).values(digest=None))
    await s.exec(update(Question).where(col(Question.author) == user_id).values(author=placeholder, text=placeholder))
    await s.exec(update(QaRound).where(col(QaRound.opened_by) == user_id).values(opened_by=placeholder))
    await s.exec(delete(Vote).where(col(Vote.user_id) == user_id))
    await s.exec(delete(TopicVote).where(col(TopicVote.user_id) == user_id))
    await s.exec(delete(TalkOffer).where(col(TalkOffer.user_id) == user_id))
    await s.exec(update(Topic).where(col(Topic.proposed_by) == user_id).values(proposed_by=placeholder))
    await s.exec(update(Poll).where(col(Poll.opened_by) == user_id).values(opened_by=placeholder))
    await s.exec(delete(Registration).where(col(Registration.user_id) == user_id))
    await s.exec(delete(PlannedMessage).where(col(PlannedMessage.user_id) == user_id))
    await s.exec(delete(PersonSettings).where(col(PersonSettings.user_id) == user_id))
    await s.exec(delete(DirectRoom).where(col(DirectRoom.user_id) == user_id))
    await s.exec(delete(PersonMunicipality).where(col(PersonMunicipality.user_id) == user_id))
    await s.exec(delete(CalendarToken).where(col(CalendarToken.user_id) == user_id))
    await s.exec(delete(WebLogin).where(col(WebLogin.user_id) == user_id))
    await s.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))
    await s.exec(update(Session).where(col(Session.created_by) == user_id).values(created_by=placeholder))
    await s.exec(update(Material).where(col(Material.added_by) == user_id).values(added_by=placeholder))
    await s.exec(delete(BoardContact).where(col(BoardContact.asked_by) == user_id))
    await s.exec(delete(BoardEntry).where(col(BoardEntry.author) == user_id))  # its contacts and plans go with it
    await s.exec(
        delete(OutboxMessage).where(
            or_(
                col(OutboxMessage.user_id) == user_id,
                (col(OutboxMessage.status) != OutboxStatus.PENDING)
                & col(OutboxMessage.content).like(_like(user_id), escape="\\"),
            )
        )
    )
    return await feedback.forget_answers(s, key_of) if key_of else 0


async def purge_ended(s: AsyncSession, ended_before: datetime, placeholder: str = FORGOTTEN) -> int:
    """Delete the personal data of sessions that ended before `ended_before`, the settings of
    people with nothing left since then, sent messages older than that, and board entries that
    expired or were closed before then (see `PERSONAL_DATA`); how many sessions had people
    registered."""
    ended = select(Session.id).where(col(Session.ends_at) < ended_before)
    asked = select(Question.id).where(col(Question.session_id).in_(ended))
    await s.exec(delete(Vote).where(col(Vote.question_id).in_(asked)))
    await s.exec(
        update(Question)
        .where(col(Question.session_id).in_(ended), col(Question.author) != placeholder)
        .values(author=placeholder)
    )
    await s.exec(
        update(QaRound)
        .where(
            col(QaRound.session_id).in_(ended),
            or_(col(QaRound.opened_by) != placeholder, col(QaRound.digest).is_not(None)),
        )
        .values(opened_by=placeholder, digest=None)
    )
    await s.exec(
        update(FeedbackAnswer)
        .where(col(FeedbackAnswer.session_id).in_(ended), col(FeedbackAnswer.respondent).is_not(None))
        .values(respondent=None)
    )
    await s.exec(
        update(Poll)
        .where(col(Poll.session_id).in_(ended), col(Poll.opened_by) != placeholder)
        .values(opened_by=placeholder)
    )
    settled = select(Topic.id).where(col(Topic.closed_at) < ended_before)
    await s.exec(delete(TopicVote).where(col(TopicVote.topic_id).in_(settled)))
    await s.exec(delete(TalkOffer).where(col(TalkOffer.topic_id).in_(settled)))
    await s.exec(
        update(Topic)
        .where(col(Topic.closed_at) < ended_before, col(Topic.proposed_by) != placeholder)
        .values(proposed_by=placeholder)
    )
    with_people = (
        await s.exec(
            select(func.count(func.distinct(Registration.session_id))).where(col(Registration.session_id).in_(ended))
        )
    ).one()
    await keep_counts(s, ended_before)
    await s.exec(delete(Registration).where(col(Registration.session_id).in_(ended)))
    await s.exec(
        delete(PlannedMessage).where(
            col(PlannedMessage.session_id).in_(ended), col(PlannedMessage.user_id).is_not(None)
        )
    )
    await s.exec(
        update(Session)
        .where(col(Session.ends_at) < ended_before, col(Session.created_by) != placeholder)
        .values(created_by=placeholder)
    )
    await s.exec(
        update(Material)
        .where(col(Material.session_id).in_(ended), col(Material.added_by) != placeholder)
        .values(added_by=placeholder)
    )
    registered = select(Registration.user_id)
    await s.exec(
        delete(PersonSettings).where(
            col(PersonSettings.updated_at) < ended_before,
            or_(col(PersonSettings.privacy_notice_at).is_(None), col(PersonSettings.privacy_notice_at) < ended_before),
            col(PersonSettings.user_id).not_in(registered),
        )
    )
    await s.exec(
        delete(PersonMunicipality).where(
            col(PersonMunicipality.set_at) < ended_before, col(PersonMunicipality.user_id).not_in(registered)
        )
    )
    await s.exec(
        delete(OutboxMessage).where(
            col(OutboxMessage.status) != OutboxStatus.PENDING, col(OutboxMessage.created_at) < ended_before
        )
    )
    await s.exec(delete(BoardContact).where(col(BoardContact.created_at) < ended_before))
    await s.exec(
        delete(BoardEntry).where(
            or_(
                col(BoardEntry.expires_at) < ended_before,
                col(BoardEntry.state).in_(FINAL) & (col(BoardEntry.updated_at) < ended_before),
            )
        )
    )
    await s.exec(delete(WebLogin).where(col(WebLogin.expires_at) < ended_before))
    await s.exec(delete(WebSession).where(col(WebSession.expires_at) < ended_before))
    for model in (DirectRoom, CalendarToken):
        await s.exec(
            delete(model).where(
                col(model.created_at) < ended_before,
                col(model.user_id).not_in(registered),
                col(model.user_id).not_in(select(PersonSettings.user_id)),
            )
        )
    return int(with_people)


async def keep_counts(s: AsyncSession, ended_before: datetime) -> None:
    """Before the registrations of sessions that ended before `ended_before` are deleted: how many
    people of each municipality held a place, without names (`ParticipationCount`), for the statistics."""
    ended = select(Session.id).where(col(Session.ends_at) < ended_before)
    counted = (
        select(Registration.session_id, Registration.municipality, func.count())
        .where(col(Registration.session_id).in_(ended), Registration.status == RegistrationStatus.REGISTERED)
        .group_by(col(Registration.session_id), col(Registration.municipality))
    )
    columns = ["session_id", "municipality", "registrations"]
    await s.exec(insert(ParticipationCount).from_select(columns, counted))
