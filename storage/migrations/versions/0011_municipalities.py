"""municipalities: a person's municipality, and participation counts kept past the purge

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_municipalities",
        sa.Column("user_id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "participation_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("municipality", sa.String(), nullable=True),
        sa.Column("registrations", sa.Integer(), nullable=False),
    )
    op.create_index("ix_participation_counts_session_id", "participation_counts", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_participation_counts_session_id", table_name="participation_counts")
    op.drop_table("participation_counts")
    op.drop_table("person_municipalities")
