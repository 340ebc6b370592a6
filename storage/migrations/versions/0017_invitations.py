"""room invitations: who invited the bot into each room it joined, for the cap per person

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_invitations",
        sa.Column("room_id", sa.String(), primary_key=True),
        sa.Column("inviter", sa.String(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_room_invitations_inviter", "room_invitations", ["inviter"])


def downgrade() -> None:
    op.drop_index("ix_room_invitations_inviter", "room_invitations")
    op.drop_table("room_invitations")
