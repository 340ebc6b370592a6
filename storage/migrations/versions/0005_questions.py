"""Q&A: rounds, questions, votes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qa_rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("root_event_id", sa.String(), nullable=True),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("digest", sa.Text(), nullable=True),
    )
    op.create_index("ix_qa_rounds_session_id", "qa_rounds", ["session_id"])
    op.create_index("ix_qa_rounds_root_event_id", "qa_rounds", ["root_event_id"])
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("qa_rounds.id", ondelete="SET NULL"), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("session_id", "number", name="uq_questions_session_number"),
    )
    op.create_index("ix_questions_session_id", "questions", ["session_id"])
    op.create_index("ix_questions_event_id", "questions", ["event_id"])
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("questions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("reaction_event_id", sa.String(), nullable=False),
        sa.Column("voted_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("question_id", "user_id", name="uq_votes_question_user"),
    )
    op.create_index("ix_votes_reaction_event_id", "votes", ["reaction_event_id"])


def downgrade() -> None:
    op.drop_index("ix_votes_reaction_event_id", "votes")
    op.drop_table("votes")
    op.drop_index("ix_questions_event_id", "questions")
    op.drop_index("ix_questions_session_id", "questions")
    op.drop_table("questions")
    op.drop_index("ix_qa_rounds_root_event_id", "qa_rounds")
    op.drop_index("ix_qa_rounds_session_id", "qa_rounds")
    op.drop_table("qa_rounds")
