"""Topic wishes with votes and talk offers; anonymous feedback answers; polls

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=True),
        sa.Column("proposed_by", sa.String(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("close_reason", sa.String(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_topics_event_id", "topics", ["event_id"])
    op.create_table(
        "topic_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("reaction_event_id", sa.String(), nullable=False),
        sa.Column("voted_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("topic_id", "user_id", name="uq_topic_votes_topic_user"),
    )
    op.create_index("ix_topic_votes_reaction_event_id", "topic_votes", ["reaction_event_id"])
    op.create_table(
        "talk_offers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("offered_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("topic_id", "user_id", name="uq_talk_offers_topic_user"),
    )
    op.create_table(
        "feedback_answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("respondent", sa.String(64), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.UniqueConstraint("session_id", "respondent", name="uq_feedback_answers_session_respondent"),
    )
    op.create_index("ix_feedback_answers_session_id", "feedback_answers", ["session_id"])
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_polls_session_id", "polls", ["session_id"])
    op.create_index("ix_polls_event_id", "polls", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_polls_event_id", "polls")
    op.drop_index("ix_polls_session_id", "polls")
    op.drop_table("polls")
    op.drop_index("ix_feedback_answers_session_id", "feedback_answers")
    op.drop_table("feedback_answers")
    op.drop_table("talk_offers")
    op.drop_index("ix_topic_votes_reaction_event_id", "topic_votes")
    op.drop_table("topic_votes")
    op.drop_index("ix_topics_event_id", "topics")
    op.drop_table("topics")
