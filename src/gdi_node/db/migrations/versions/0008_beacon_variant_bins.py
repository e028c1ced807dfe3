"""Beacon: variant bins. Per callset, sequence, 10 kb window and variant type, how many
alleles with a carrier start there; a range count sums the bins it covers whole and counts rows
only at its edges (gdi_node.beacon.variant_bins). Callsets already loaded are binned here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = ["assembly", "chrom", "bin", "dataset_id", "variant_type", "alleles"]


def upgrade() -> None:
    op.create_table(
        "beacon_variant_bins",
        sa.Column("callset_id", sa.Integer(), nullable=False),
        sa.Column("assembly", sa.String(length=32), nullable=False),
        sa.Column("chrom", sa.String(length=32), nullable=False),
        sa.Column("bin", sa.BigInteger(), nullable=False),
        sa.Column("variant_type", sa.String(length=16), nullable=False),
        sa.Column("dataset_id", sa.String(length=128), nullable=False),
        sa.Column("alleles", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["callset_id"], ["beacon_callsets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("callset_id", "assembly", "chrom", "bin", "variant_type"),
    )
    op.execute(
        "INSERT INTO beacon_variant_bins"
        " (callset_id, assembly, chrom, bin, variant_type, dataset_id, alleles)"
        # 10000: gdi_node.beacon.variant_bins.BIN_SIZE when this revision was written
        " SELECT callset_id, assembly, chrom, start / 10000, variant_type, dataset_id,"
        " count(*) FROM beacon_variants WHERE carriers > 0"
        " GROUP BY callset_id, assembly, chrom, start / 10000, variant_type, dataset_id"
    )
    op.create_index("ix_beacon_variant_bins_located", "beacon_variant_bins", _COLUMNS)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=2000")
    op.execute("ANALYZE beacon_variant_bins")


def downgrade() -> None:
    op.drop_index("ix_beacon_variant_bins_located", table_name="beacon_variant_bins")
    op.drop_table("beacon_variant_bins")
