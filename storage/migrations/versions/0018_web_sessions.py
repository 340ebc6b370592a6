"""web: one-time login links and web sessions (both stored as hashes only); state events
(the room widget) in the outbox

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("web_logins", "web_sessions"):
        op.create_table(
            table,
            sa.Column("token_hash", sa.String(length=64), primary_key=True),
            sa.Column("user_id", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("expires_at", sa.DateTime(), nullable=False),
        )
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("state_key", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("state_key")
    op.drop_table("web_sessions")
    op.drop_table("web_logins")
