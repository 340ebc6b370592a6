"""session details: registration deadline, region, cancellation, calendar sequence

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("registration_deadline", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("region", sa.String(), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("sequence")
        batch.drop_column("cancel_reason")
        batch.drop_column("region")
        batch.drop_column("registration_deadline")
