"""Beacon: gap pieces keyed by their size class, so that the pieces holding a position are found
reading about twice as many rows as hold it, not every piece starting up to 10 kb before it
(whose number grows with the genomes loaded: 21,600 rows per allele record at 60,000 genomes
in the benchmark). ``size_class`` is the smallest k with ``end - start <= 2**k``; the primary key
leads with it (SQLite: a table without rowid, stored in key order, with no second copy of the
key). Existing pieces get their class here.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_CLASS = (
    "CASE "
    + " ".join(f'WHEN "end" - start <= {1 << k} THEN {k}' for k in range(15))
    + " ELSE 15 END"
)
_COLUMNS = 'dataset_id, assembly, chrom, size_class, start, bit_no, "end", callset_id'


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "beacon_uncalled",
            sa.Column("size_class", sa.SmallInteger(), nullable=False, server_default="0"),
        )
        op.execute(f"UPDATE beacon_uncalled SET size_class = {_CLASS}")  # noqa: S608 (constants)
        op.alter_column("beacon_uncalled", "size_class", server_default=None)
        op.drop_constraint("beacon_uncalled_pkey", "beacon_uncalled", type_="primary")
        op.create_primary_key(
            "beacon_uncalled_pkey",
            "beacon_uncalled",
            ["dataset_id", "assembly", "chrom", "size_class", "start", "bit_no"],
        )
        return
    _create("beacon_uncalled_by_size")
    copy = f"INSERT INTO beacon_uncalled_by_size ({_COLUMNS}) SELECT dataset_id, assembly, chrom,"
    copy += f' {_CLASS}, start, bit_no, "end", callset_id FROM beacon_uncalled'
    op.execute(copy)
    op.drop_index("ix_beacon_uncalled_callset_id", table_name="beacon_uncalled")
    op.drop_table("beacon_uncalled")
    op.rename_table("beacon_uncalled_by_size", "beacon_uncalled")
    op.create_index("ix_beacon_uncalled_callset_id", "beacon_uncalled", ["callset_id"])


def _create(name: str) -> None:
    op.create_table(
        name,
        sa.Column("dataset_id", sa.String(128), nullable=False),
        sa.Column("assembly", sa.String(32), nullable=False),
        sa.Column("chrom", sa.String(32), nullable=False),
        sa.Column("size_class", sa.SmallInteger(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("bit_no", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column(
            "callset_id",
            sa.Integer(),
            sa.ForeignKey("beacon_callsets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "dataset_id",
            "assembly",
            "chrom",
            "size_class",
            "start",
            "bit_no",
            name="beacon_uncalled_pkey",
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("beacon_uncalled_pkey", "beacon_uncalled", type_="primary")
        op.create_primary_key(
            "beacon_uncalled_pkey",
            "beacon_uncalled",
            ["dataset_id", "assembly", "chrom", "start", "bit_no"],
        )
        op.drop_column("beacon_uncalled", "size_class")
        return
    op.create_table(
        "beacon_uncalled_by_start",
        sa.Column("dataset_id", sa.String(128), primary_key=True),
        sa.Column("assembly", sa.String(32), primary_key=True),
        sa.Column("chrom", sa.String(32), primary_key=True),
        sa.Column("start", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("bit_no", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column(
            "callset_id",
            sa.Integer(),
            sa.ForeignKey("beacon_callsets.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.execute(
        "INSERT INTO beacon_uncalled_by_start SELECT dataset_id, assembly, chrom, start, bit_no,"
        ' "end", callset_id FROM beacon_uncalled'
    )
    op.drop_index("ix_beacon_uncalled_callset_id", table_name="beacon_uncalled")
    op.drop_table("beacon_uncalled")
    op.rename_table("beacon_uncalled_by_start", "beacon_uncalled")
    op.create_index("ix_beacon_uncalled_callset_id", "beacon_uncalled", ["callset_id"])
