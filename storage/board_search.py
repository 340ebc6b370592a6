"""Full-text search over the board's entries, in each database's own way.

SQLite: an FTS5 table `board_search` (rowid = entry id) holding the German stems of title and
description, written here when an entry is created (FTS5 has no German tokenizer); a trigger
removes an entry's row when the entry is deleted. PostgreSQL: the `german` text search over
title and description, served by a GIN index on the same expression (migration 0012). Both
look for every word of the query by its stem prefixes (see `rules.search`), best matches first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.board import ACTIVE
from rules.search import QueryWord, indexed, query
from storage.models import BoardEntry, UTCDateTime

# The expression the GIN index of migration 0012 is built on: the search must use it verbatim.
SEARCH_VECTOR = (
    "(setweight(to_tsvector('german', title), 'A') || setweight(to_tsvector('german', coalesce(description, '')), 'B'))"
)
SEARCH_INDEX = "ix_board_entries_search"
_ACTIVE = ", ".join(f"'{state}'" for state in ACTIVE)
TITLE_WEIGHT, DESCRIPTION_WEIGHT = 2.0, 1.0
OVERFETCH = 4  # SQLite: matches fetched per entry wanted (some may be closed or expired)


def is_search_index(name: str | None) -> bool:
    """Whether a schema object belongs to the search index, which no model describes: SQLite's
    FTS5 table with its shadow tables, PostgreSQL's GIN index."""
    return bool(name) and (name == "board_search" or str(name).startswith("board_search_") or name == SEARCH_INDEX)


def _dialect(s: AsyncSession) -> str:
    return s.bind.dialect.name if s.bind is not None else "sqlite"


async def index(s: AsyncSession, entry: BoardEntry) -> None:
    """Put an entry into the search index (PostgreSQL's index follows the table by itself)."""
    if _dialect(s) != "sqlite":
        return
    await _index_row(s, entry.id, entry.title, entry.description)


async def _index_row(s: AsyncSession, entry_id: int | None, title: str, description: str | None) -> None:
    conn = await s.connection()
    await conn.execute(
        text("INSERT OR REPLACE INTO board_search (rowid, title, description) VALUES (:id, :title, :description)"),
        {"id": entry_id, "title": indexed(title), "description": indexed(description or "")},
    )


async def rebuild(s: AsyncSession) -> None:
    """Index every entry again (after rows were copied in from elsewhere)."""
    if _dialect(s) != "sqlite":
        return
    conn = await s.connection()
    await conn.execute(text("DELETE FROM board_search"))
    for entry_id, title, description in (
        await conn.execute(text("SELECT id, title, description FROM board_entries"))
    ).all():
        await _index_row(s, entry_id, title, description)


def fts5_query(words: list[QueryWord]) -> str:
    """FTS5's query: each word by any of its stem prefixes, all words together. Prefixes are
    letters and digits only, quoted all the same."""
    return " AND ".join("(" + " OR ".join(f'"{p}"*' for p in word.prefixes) + ")" for word in words)


def fts5_any(words: list[QueryWord]) -> str:
    """FTS5's query for an entry's candidates: any of the words, each by its stem or by its
    shortest prefix (the first part of a compound)."""
    return " OR ".join(f'"{p}"*' for word in words for p in dict.fromkeys((word.prefixes[0], word.prefixes[-1])))


def _tsquery(words: list[QueryWord], joiner: str = " && ") -> tuple[str, dict[str, Any]]:
    """PostgreSQL's query and its parameters: each word as PostgreSQL's `german` configuration
    understands it, or by any of its stem prefixes; all words together (or, with `joiner` " || ",
    any of them)."""
    parts, params = [], {}
    for n, word in enumerate(words):
        parts.append(f"(plainto_tsquery('german', :word{n}) || to_tsquery('simple', :prefixes{n}))")
        params[f"word{n}"] = word.word
        params[f"prefixes{n}"] = " | ".join(f"{p}:*" for p in word.prefixes)
    return joiner.join(parts), params


async def search(s: AsyncSession, text_: str, now: datetime, limit: int) -> list[int]:
    """The ids of active entries matching `text_`, best first (newer first among equals)."""
    words = query(text_)
    if not words:
        return []
    conn = await s.connection()
    if _dialect(s) == "sqlite":
        return await _sqlite_search(conn, fts5_query(words), now, limit)
    tsquery, params = _tsquery(words)
    statement = text(
        f"SELECT e.id FROM board_entries e, ({'SELECT ' + tsquery} AS q) found "
        f"WHERE {SEARCH_VECTOR} @@ found.q AND e.state IN ({_ACTIVE}) AND e.expires_at > :now "
        f"ORDER BY ts_rank({SEARCH_VECTOR}, found.q) DESC, e.id DESC LIMIT :limit"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    rows = await conn.execute(statement, {**params, "now": now, "limit": limit})
    return [int(row[0]) for row in rows.all()]


async def _sqlite_search(conn: AsyncConnection, match: str, now: datetime, limit: int) -> list[int]:
    """FTS5 ranks its best few matches on its own (ranking after a join would rank every match),
    and of those the active entries are kept; only when too few of them are, all matches."""
    for fetch in (limit * OVERFETCH, -1):  # -1: no limit
        statement = text(
            "SELECT e.id FROM ("
            f"SELECT rowid, bm25(board_search, {TITLE_WEIGHT}, {DESCRIPTION_WEIGHT}) AS score FROM board_search "
            "WHERE board_search MATCH :match ORDER BY score, rowid DESC LIMIT :fetch"
            ") AS hits JOIN board_entries e ON e.id = hits.rowid "
            f"WHERE e.state IN ({_ACTIVE}) AND e.expires_at > :now ORDER BY hits.score, e.id DESC LIMIT :limit"
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        found = await conn.execute(statement, {"match": match, "fetch": fetch, "now": now, "limit": limit})
        ids = [int(row[0]) for row in found.all()]
        if len(ids) == limit:
            break
    return ids


async def related(
    s: AsyncSession, words: list[QueryWord], kind: str, category: str, author: str, now: datetime, limit: int
) -> list[int]:
    """The ids of the active entries of `kind` in `category` (but `author`'s) that share most
    of `words`, best first, at most `limit`: the few an entry is worth comparing with, whatever
    the number of entries."""
    if not words:
        return []
    conn = await s.connection()
    filters = (
        f"e.kind = :kind AND e.category = :category AND e.author <> :author "
        f"AND e.state IN ({_ACTIVE}) AND e.expires_at > :now"
    )
    if _dialect(s) == "sqlite":
        statement = text(
            "SELECT e.id FROM board_search JOIN board_entries e ON e.id = board_search.rowid "
            f"WHERE board_search MATCH :match AND {filters} "
            f"ORDER BY bm25(board_search, {TITLE_WEIGHT}, {DESCRIPTION_WEIGHT}), e.id DESC LIMIT :limit"
        )
        params: dict[str, Any] = {"match": fts5_any(words)}
    else:
        tsquery, params = _tsquery(words, " || ")
        statement = text(
            f"SELECT e.id FROM board_entries e, ({'SELECT ' + tsquery} AS q) found "
            f"WHERE {SEARCH_VECTOR} @@ found.q AND {filters} "
            f"ORDER BY ts_rank({SEARCH_VECTOR}, found.q) DESC, e.id DESC LIMIT :limit"
        )
    statement = statement.bindparams(bindparam("now", type_=UTCDateTime()))
    values = {**params, "kind": kind, "category": category, "author": author, "now": now, "limit": limit}
    return [int(row[0]) for row in (await conn.execute(statement, values)).all()]
