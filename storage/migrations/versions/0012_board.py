"""the cooperation board: entries, contacts, planned messages about entries, full-text search

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL: the `german` text search over title (weight A) and description (weight B); the
# search in storage/board_search.py uses this very expression, so the GIN index serves it.
SEARCH_VECTOR = (
    "(setweight(to_tsvector('german', title), 'A') || "
    "setweight(to_tsvector('german', coalesce(description, '')), 'B'))"
)


def upgrade() -> None:
    op.create_table(
        "board_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("municipality", sa.String(), nullable=True),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("card_room_id", sa.String(), nullable=True),
        sa.Column("card_event_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_board_entries_state_expires", "board_entries", ["state", "expires_at"])
    op.create_index("ix_board_entries_author", "board_entries", ["author"])
    op.create_index("ix_board_entries_category", "board_entries", ["category"])
    op.create_table(
        "board_contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("board_entries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("asked_by", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=True),
        sa.Column("room_name", sa.String(), nullable=False),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("entry_id", "asked_by", name="uq_board_contacts_entry_asker"),
    )
    op.create_index("ix_board_contacts_entry_id", "board_contacts", ["entry_id"])
    op.create_index("ix_board_contacts_asked_by", "board_contacts", ["asked_by"])
    op.create_index("ix_board_contacts_room_id", "board_contacts", ["room_id"])
    with op.batch_alter_table("planned_messages") as batch:
        batch.alter_column("session_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("entry_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_planned_messages_entry_id", "board_entries", ["entry_id"], ["id"], ondelete="CASCADE"
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_board_entries_search ON board_entries USING gin ({SEARCH_VECTOR})")
    else:
        # SQLite has no German tokenizer: the bot writes the stems itself (rules/search.py).
        op.execute(
            "CREATE VIRTUAL TABLE board_search USING fts5(title, description, tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER board_entries_search_delete AFTER DELETE ON board_entries "
            "BEGIN DELETE FROM board_search WHERE rowid = old.id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_board_entries_search")
    else:
        op.execute("DROP TRIGGER board_entries_search_delete")
        op.execute("DROP TABLE board_search")
    op.execute("DELETE FROM planned_messages WHERE session_id IS NULL")
    with op.batch_alter_table("planned_messages") as batch:
        batch.drop_constraint("fk_planned_messages_entry_id", type_="foreignkey")
        batch.drop_column("entry_id")
        batch.alter_column("session_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("board_contacts")
    op.drop_table("board_entries")
