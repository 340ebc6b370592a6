"""official rooms: rooms a coordinator enabled, with their region

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "official_rooms",
        sa.Column("room_id", sa.String(), primary_key=True),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("enabled_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("official_rooms")
