"""board matching: the search index finds a new entry's candidates by kind and category

SQLite: `board_search` gets a `scope` column (the entry's kind and category as one word) and an
index of 6-letter prefixes, so that the few entries a new one is compared with are found among
those of its kind and category, each compound part read from an index of its own. PostgreSQL:
the search vector is stored in a generated column with its GIN index (ranking no longer parses
every matching entry's text again).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in migration 0012 (and the stems SQLite's index holds, see storage/board_search.py).
SEARCH_VECTOR = (
    "(setweight(to_tsvector('german', title), 'A') || setweight(to_tsvector('german', coalesce(description, '')), 'B'))"
)
TOKENIZER = "tokenize = 'unicode61 remove_diacritics 2'"


def _replace_sqlite_index(columns: str, options: str, scope: str) -> None:
    """Build `board_search` anew with `columns` and `options`, keeping the stems it holds (the
    trigger that names it is made again: a rename checks every trigger's tables)."""
    op.execute("DROP TRIGGER board_entries_search_delete")
    op.execute(f"CREATE VIRTUAL TABLE board_search_new USING fts5({columns}, {TOKENIZER}{options})")
    op.execute(
        f"INSERT INTO board_search_new (rowid, {columns}) "
        f"SELECT s.rowid, s.title, s.description{scope} FROM board_search s JOIN board_entries e ON e.id = s.rowid"
    )
    op.execute("DROP TABLE board_search")
    op.execute("ALTER TABLE board_search_new RENAME TO board_search")
    op.execute(
        "CREATE TRIGGER board_entries_search_delete AFTER DELETE ON board_entries "
        "BEGIN DELETE FROM board_search WHERE rowid = old.id; END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_board_entries_search")
        op.execute(f"ALTER TABLE board_entries ADD COLUMN search_vector tsvector GENERATED ALWAYS AS {SEARCH_VECTOR} STORED")
        op.execute("CREATE INDEX ix_board_entries_search ON board_entries USING gin (search_vector)")
    else:
        # The scope is written as storage.board_search.scope_token writes it: kind, then the
        # category's UTF-8 bytes in hex (the tokenizer folds the case).
        _replace_sqlite_index("title, description, scope", ", prefix = '6'", ", e.kind || hex(e.category)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_board_entries_search")
        op.execute("ALTER TABLE board_entries DROP COLUMN search_vector")
        op.execute(f"CREATE INDEX ix_board_entries_search ON board_entries USING gin ({SEARCH_VECTOR})")
    else:
        _replace_sqlite_index("title, description", "", "")
