"""Beacon: where a gVCF's samples are not called (decision record 0021). A gVCF is loaded in
mode ``gvcf``: the gaps between its passing reference blocks and calls are stored per bit, cut
into pieces of at most 10 kb, and the allele number leaves those bits out. Nothing to convert:
databases before held no gVCF mode.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "beacon_uncalled",
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
    op.create_index("ix_beacon_uncalled_callset_id", "beacon_uncalled", ["callset_id"])


def downgrade() -> None:
    op.drop_index("ix_beacon_uncalled_callset_id", table_name="beacon_uncalled")
    op.drop_table("beacon_uncalled")
