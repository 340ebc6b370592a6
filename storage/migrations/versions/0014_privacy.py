"""privacy: a secret outbox message loses its content once delivered; an old vote on a wish still
open counts on without its voter

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("secret", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("topic_votes") as batch:
        batch.alter_column("user_id", existing_type=sa.String(), nullable=True)


def downgrade() -> None:
    # The old schema has no vote without a voter: those votes are lost.
    op.execute(sa.text("DELETE FROM topic_votes WHERE user_id IS NULL"))
    with op.batch_alter_table("topic_votes") as batch:
        batch.alter_column("user_id", existing_type=sa.String(), nullable=False)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("secret")
