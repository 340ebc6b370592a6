"""Full-text search over the board's entries, in each database's own way: a person's search
(`search`), and the few entries a new one is worth comparing with (`related`).

SQLite: an FTS5 table `board_search` (rowid = entry id) holding the German stems of title and
description, written here when an entry is created (FTS5 has no German tokenizer), and a
`scope` token naming the entry's kind and category; it keeps an index of 6-letter prefixes, the
length compounds are looked up by (migration 0014). A trigger removes an entry's row when the
entry is deleted. PostgreSQL: the `german` text search over title and description, stored in the
generated column `search_vector` with a GIN index (migration 0014). A search looks for every word
of the query by its stem prefixes (see `rules.search`), best matches first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, inspect, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.board import ACTIVE
from rules.search import MIN_PREFIX, QueryWord, indexed, query
from storage.models import UTC_DATETIME, BoardEntry
from storage.rows import dialect_of

SEARCH_COLUMN = "search_vector"
SEARCH_INDEX = "ix_board_entries_search"
_ACTIVE = ", ".join(f"'{state}'" for state in ACTIVE)
TITLE_WEIGHT, DESCRIPTION_WEIGHT = 2.0, 1.0
_WEIGHTS = f"{TITLE_WEIGHT}, {DESCRIPTION_WEIGHT}, 0.0"  # bm25's: title, description, scope
_TEXT = "{title description}"  # FTS5's columns of the words (not the scope)
OVERFETCH = 4  # SQLite: matches fetched per entry wanted (some may be closed or expired)
# The entries' own columns (on PostgreSQL `e.*` would bring the generated search vector along).
_ENTRY = ", ".join(f"e.{column.name}" for column in inspect(BoardEntry).columns)


def is_search_index(name: str | None) -> bool:
    """Whether a schema object belongs to the search index, which no model describes: SQLite's
    FTS5 table with its shadow tables, PostgreSQL's generated column and its GIN index."""
    return bool(name) and (
        name in ("board_search", SEARCH_COLUMN, SEARCH_INDEX) or str(name).startswith("board_search_")
    )


def scope_token(kind: str, category: str) -> str:
    """The one word (letters and digits) that stands for an entry's kind and category in SQLite's
    index; migration 0014 writes it as `kind || hex(category)`."""
    return f"{kind}{category.encode().hex()}"


async def index(s: AsyncSession, entry: BoardEntry) -> None:
    """Put an entry into the search index (PostgreSQL's index follows the table by itself)."""
    if dialect_of(s) != "sqlite":
        return
    await _index_row(s, entry.id, entry.kind, entry.category, entry.title, entry.description)


async def _index_row(
    s: AsyncSession, entry_id: int | None, kind: str, category: str, title: str, description: str | None
) -> None:
    conn = await s.connection()
    await conn.execute(
        text(
            "INSERT OR REPLACE INTO board_search (rowid, title, description, scope) "
            "VALUES (:id, :title, :description, :scope)"
        ),
        {
            "id": entry_id,
            "title": indexed(title),
            "description": indexed(description or ""),
            "scope": scope_token(kind, category),
        },
    )


async def rebuild(s: AsyncSession) -> None:
    """Index every entry again (after rows were copied in from elsewhere)."""
    if dialect_of(s) != "sqlite":
        return
    conn = await s.connection()
    await conn.execute(text("DELETE FROM board_search"))
    rows = await conn.execute(text("SELECT id, kind, category, title, description FROM board_entries"))
    for entry_id, kind, category, title, description in rows.all():
        await _index_row(s, entry_id, kind, category, title, description)


def fts5_query(words: list[QueryWord]) -> str:
    """FTS5's query: each word by any of its stem prefixes, all words together, in title and
    description. Prefixes are letters and digits only, quoted all the same."""
    found = " AND ".join("(" + " OR ".join(f'"{p}"*' for p in word.prefixes) + ")" for word in words)
    return f"{_TEXT} : ({found})"


def _tsquery(words: list[QueryWord]) -> tuple[str, dict[str, Any]]:
    """PostgreSQL's query and its parameters: each word as PostgreSQL's `german` configuration
    understands it, or by any of its stem prefixes; all words together."""
    parts, params = [], {}
    for n, word in enumerate(words):
        parts.append(f"(plainto_tsquery('german', :word{n}) || to_tsquery('simple', :prefixes{n}))")
        params[f"word{n}"] = word.word
        params[f"prefixes{n}"] = " | ".join(f"{p}:*" for p in word.prefixes)
    return " && ".join(parts), params


async def search(s: AsyncSession, text_: str, now: datetime, limit: int) -> list[BoardEntry]:
    """The active entries matching `text_`, best first (newer first among equals), read by the
    search's own statement (not looked up by id afterwards: a statement less per search)."""
    words = query(text_)
    if not words:
        return []
    if dialect_of(s) == "sqlite":
        return await _sqlite_search(s, fts5_query(words), now, limit)
    tsquery, params = _tsquery(words)
    statement = text(
        f"SELECT {_ENTRY} FROM board_entries e, ({'SELECT ' + tsquery} AS q) found "
        f"WHERE e.{SEARCH_COLUMN} @@ found.q AND e.state IN ({_ACTIVE}) AND e.expires_at > :now "
        f"ORDER BY ts_rank(e.{SEARCH_COLUMN}, found.q) DESC, e.id DESC LIMIT :limit"
    )
    return await _entries(s, statement, {**params, "now": now, "limit": limit})


async def _sqlite_search(s: AsyncSession, match: str, now: datetime, limit: int) -> list[BoardEntry]:
    """FTS5 ranks its best few matches on its own (ranking after a join would rank every match),
    and of those the active entries are kept; only when too few of them are, all matches."""
    for fetch in (limit * OVERFETCH, -1):  # -1: no limit
        statement = text(
            f"SELECT {_ENTRY} FROM ("
            f"SELECT rowid, bm25(board_search, {_WEIGHTS}) AS score FROM board_search "
            "WHERE board_search MATCH :match ORDER BY score, rowid DESC LIMIT :fetch"
            ") AS hits JOIN board_entries e ON e.id = hits.rowid "
            f"WHERE e.state IN ({_ACTIVE}) AND e.expires_at > :now ORDER BY hits.score, e.id DESC LIMIT :limit"
        )
        found = await _entries(s, statement, {"match": match, "fetch": fetch, "now": now, "limit": limit})
        if len(found) == limit:
            break
    return found


async def _entries(s: AsyncSession, statement: TextClause, values: dict[str, Any]) -> list[BoardEntry]:
    """The board entries a raw statement selects (their columns, `_ENTRY`), in its order."""
    entries = select(BoardEntry).from_statement(statement.bindparams(bindparam("now", type_=UTC_DATETIME)))
    found = await s.exec(entries, params=values)  # type: ignore[call-overload]  # sqlmodel types only its own selects
    return list(found.scalars())


async def related(
    s: AsyncSession, heads: list[str], kind: str, category: str, author: str, now: datetime, limit: int
) -> list[int]:
    """The ids of the active entries of `kind` in `category` (but `author`'s) that share most of
    `heads` (see `rules.search.key_heads`: prefixes of `MIN_PREFIX` letters, shorter stems whole),
    best first, at most `limit`. Only entries of that kind and category sharing a word are
    ranked, each prefix read from an index of its own."""
    if not heads:
        return []
    conn = await s.connection()
    filters = (
        "e.kind = :kind AND e.category = :category AND e.author <> :author "
        f"AND e.state IN ({_ACTIVE}) AND e.expires_at > :now"
    )
    if dialect_of(s) == "sqlite":
        terms = " OR ".join(f'"{h}"*' if len(h) >= MIN_PREFIX else f'"{h}"' for h in heads)
        statement = text(
            "SELECT e.id FROM board_search JOIN board_entries e ON e.id = board_search.rowid "
            f"WHERE board_search MATCH :match AND {filters} "
            f"ORDER BY bm25(board_search, {_WEIGHTS}), e.id DESC LIMIT :limit"
        )
        params: dict[str, Any] = {"match": f'scope : "{scope_token(kind, category)}" AND {_TEXT} : ({terms})'}
    else:
        statement = text(
            f"SELECT e.id FROM board_entries e, to_tsquery('simple', :terms) AS q "
            f"WHERE e.{SEARCH_COLUMN} @@ q AND {filters} "
            f"ORDER BY ts_rank(e.{SEARCH_COLUMN}, q) DESC, e.id DESC LIMIT :limit"
        )
        params = {"terms": " | ".join(f"{h}:*" if len(h) >= MIN_PREFIX else h for h in heads)}
    statement = statement.bindparams(bindparam("now", type_=UTC_DATETIME))
    values = {**params, "kind": kind, "category": category, "author": author, "now": now, "limit": limit}
    return [int(row[0]) for row in (await conn.execute(statement, values)).all()]
