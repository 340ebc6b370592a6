"""feedback: random answer ids (no order of answering), totals published in steps

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Answer ids counted up in the order people answered; they become random (existing answers get new
ones) and PostgreSQL's id sequence goes. On SQLite the id stays the table's INTEGER PRIMARY KEY,
the row's own key, so no hidden row number counts up. `published` marks the answers in the totals
published last; `feedback_published` holds those totals.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE = "feedback_answers_id_seq"


def _renumber(ids: list[tuple[int, int]]) -> None:
    """Give each answer with the id `old` the id `new` (no `new` may be in use)."""
    answers = sa.table("feedback_answers", sa.column("id", sa.BigInteger()))
    for old, new in ids:
        op.execute(answers.update().where(answers.c.id == old).values(id=new))


def _ids() -> list[int]:
    return [row[0] for row in op.get_bind().execute(sa.text("SELECT id FROM feedback_answers"))]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.alter_column("feedback_answers", "id", type_=sa.BigInteger(), server_default=None)
        op.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
    taken = _ids()
    fresh = set[int]()
    while len(fresh) < len(taken):
        candidate = secrets.randbelow(2**62) + 1
        if candidate not in taken:
            fresh.add(candidate)
    _renumber(list(zip(taken, fresh, strict=True)))
    with op.batch_alter_table("feedback_answers") as batch:
        batch.add_column(sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "feedback_published",
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        *(sa.Column(f"rated_{n}", sa.Integer(), nullable=False) for n in range(1, 6)),
    )


def downgrade() -> None:
    op.drop_table("feedback_published")
    with op.batch_alter_table("feedback_answers") as batch:
        batch.drop_column("published")
    taken = _ids()
    offset = max(taken, default=0)  # counted ids above every random one, then down to 1, 2, …
    _renumber([(old, offset + n) for n, old in enumerate(taken, 1)])
    _renumber([(offset + n, n) for n in range(1, len(taken) + 1)])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE {SEQUENCE} OWNED BY feedback_answers.id")
        op.execute(f"SELECT setval('{SEQUENCE}', {len(taken) or 1}, {bool(taken)})")
        op.alter_column(
            "feedback_answers", "id", type_=sa.Integer(), server_default=sa.text(f"nextval('{SEQUENCE}'::regclass)")
        )
