"""outbox: every message the bot sends, delivered until it lands; reminders by DM on by default

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(), nullable=False, unique=True),
        sa.Column("lane", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=True),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("thread_of", sa.String(), nullable=True),
        sa.Column("records", sa.String(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("sent_event_id", sa.String(), nullable=True),
    )
    op.create_index("ix_outbox_status_lane", "outbox", ["status", "lane", "id"])
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])
    # Reminders by direct message are on unless someone turned them off: NULL is "not chosen".
    with op.batch_alter_table("person_settings") as batch:
        batch.alter_column("dm_reminders", existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("person_settings") as batch:
        batch.alter_column("dm_reminders", existing_type=sa.Boolean(), nullable=False)
    op.drop_table("outbox")
