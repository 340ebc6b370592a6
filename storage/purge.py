"""Deleting personal data (DSGVO): everything about one person on `!daten-löschen`, and what is past
the retention period (`purge_ended`, run by the scheduler). What each does with each column is
declared in `storage.inventory`."""

from __future__ import annotations

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
    RoomInvitation,
    Session,
    TalkOffer,
    Topic,
    TopicVote,
    Vote,
    WebLogin,
    WebSession,
)
from storage.people import FORGOTTEN


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere (its own wildcards taken literally, escaped with \\)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def forget_person(
    s: AsyncSession, user_id: str, placeholder: str = FORGOTTEN, key_of: KeyOf | None = None
) -> int:
    """Delete a person's registrations, settings, votes (on questions and wishes), talk offers,
    direct messages, board entries and contact requests, the rooms they invited the bot into (those
    no longer count against their cap), and every message in the outbox that
    names them (one not sent yet is not sent any more); where a record must stay (a session they
    created, material they added, a round they opened, a question they asked, a topic they wished
    for) their id is replaced by `placeholder`, and so is the text of their questions. The stored
    digest of a round that quoted one of their questions is deleted. With `key_of`, their feedback
    answers are found and deleted too; how many."""
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
    await s.exec(delete(RoomInvitation).where(col(RoomInvitation.inviter) == user_id))
    await s.exec(delete(WebLogin).where(col(WebLogin.user_id) == user_id))
    await s.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))
    await s.exec(update(Session).where(col(Session.created_by) == user_id).values(created_by=placeholder))
    await s.exec(update(Material).where(col(Material.added_by) == user_id).values(added_by=placeholder))
    await s.exec(delete(BoardContact).where(col(BoardContact.asked_by) == user_id))
    await s.exec(delete(BoardEntry).where(col(BoardEntry.author) == user_id))  # its contacts and plans go with it
    await s.exec(
        delete(OutboxMessage).where(
            or_(col(OutboxMessage.user_id) == user_id, col(OutboxMessage.content).like(_like(user_id), escape="\\"))
        )
    )
    return await feedback.forget_answers(s, key_of) if key_of else 0


async def purge_ended(s: AsyncSession, ended_before: datetime, placeholder: str = FORGOTTEN) -> int:
    """Delete the personal data of sessions that ended before `ended_before`, the settings of
    people with nothing left since then, sent messages older than that, board entries that
    expired or were closed before then, the names on topic wishes, votes and talk offers given
    before then, and who invited the bot into a room it joined before then (see
    `storage.inventory`); how many sessions had people registered."""
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
    # Topic wishes: a settled wish's votes go. While a wish is open, a vote that old counts on
    # without its voter; talk offers and the proposer's name go once that old (both come before a
    # wish is settled, so one settled that long ago keeps neither).
    settled = select(Topic.id).where(col(Topic.closed_at) < ended_before)
    await s.exec(delete(TopicVote).where(col(TopicVote.topic_id).in_(settled)))
    await s.exec(
        update(TopicVote)
        .where(col(TopicVote.voted_at) < ended_before, col(TopicVote.user_id).is_not(None))
        .values(user_id=None)
    )
    await s.exec(delete(TalkOffer).where(col(TalkOffer.offered_at) < ended_before))
    await s.exec(
        update(Topic)
        .where(col(Topic.proposed_at) < ended_before, col(Topic.proposed_by) != placeholder)
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
    await s.exec(delete(RoomInvitation).where(col(RoomInvitation.joined_at) < ended_before))
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
