"""planned messages, materials, protocol link, reminder settings, reaction registrations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("protocol_url", sa.String(), nullable=True))
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("reaction_event_id", sa.String(), nullable=True))
        batch.create_index("ix_registrations_reaction_event_id", ["reaction_event_id"])
    op.create_table(
        "planned_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("room_id", sa.String(), nullable=True),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("sent_event_id", sa.String(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("content_digest", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_planned_messages_status_due", "planned_messages", ["status", "due_at"])
    op.create_index("ix_planned_messages_session", "planned_messages", ["session_id"])
    op.create_index("ix_planned_messages_sent_event", "planned_messages", ["sent_event_id"])
    op.create_table(
        "materials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("added_by", sa.String(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_materials_session_id", "materials", ["session_id"])
    op.create_table(
        "person_settings",
        sa.Column("user_id", sa.String(), primary_key=True),
        sa.Column("dm_reminders", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("person_settings")
    op.drop_index("ix_materials_session_id", "materials")
    op.drop_table("materials")
    op.drop_index("ix_planned_messages_sent_event", "planned_messages")
    op.drop_index("ix_planned_messages_session", "planned_messages")
    op.drop_index("ix_planned_messages_status_due", "planned_messages")
    op.drop_table("planned_messages")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_index("ix_registrations_reaction_event_id")
        batch.drop_column("reaction_event_id")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("protocol_url")

