"""Beacon: the span a callset covers on each contig (its first record's start to its last
record's end). A sample is its biosample id, and a file that brings a sample's genotypes for a
span already loaded for it is a re-analysis: it replaces the earlier file with ``--update`` and
is refused otherwise (issue #18). Callsets loaded before get their spans from their rows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("beacon_callsets", sa.Column("spans", sa.Text(), nullable=True))
    connection = op.get_bind()
    covered: dict[int, dict[str, list[int]]] = {}
    rows = connection.execute(
        sa.text(
            'SELECT callset_id, chrom, min(start), max("end") FROM beacon_variants'
            " GROUP BY callset_id, chrom"
        )
    )
    for callset_id, chrom, start, end in rows:
        covered.setdefault(int(callset_id), {})[str(chrom)] = [int(start), int(end)]
    for callset_id, spans in covered.items():
        connection.execute(
            sa.text("UPDATE beacon_callsets SET spans = :spans WHERE id = :id"),
            {"spans": json.dumps(spans, sort_keys=True), "id": callset_id},
        )


def downgrade() -> None:
    # not batch mode (see 0010): SQLite >= 3.35 drops a column in place
    op.drop_column("beacon_callsets", "spans")
