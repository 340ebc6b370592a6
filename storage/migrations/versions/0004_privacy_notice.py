"""privacy notice: when a person was shown it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person_settings") as batch:
        batch.add_column(sa.Column("privacy_notice_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person_settings") as batch:
        batch.drop_column("privacy_notice_at")
