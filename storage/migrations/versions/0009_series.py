"""series: sessions planned together, each session maybe a part of one

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("announcement_event_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_series_announcement_event_id", "series", ["announcement_event_id"])
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_sessions_series_id", "series", ["series_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_sessions_series_id", ["series_id"])


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_series_id")
        batch.drop_constraint("fk_sessions_series_id", type_="foreignkey")
        batch.drop_column("series_id")
    op.drop_index("ix_series_announcement_event_id", "series")
    op.drop_table("series")
