"""Beacon: samples found by biosample id and genotype sets by sample number, so that a load
finds the files already holding its samples (a re-analysis, decision record 0019) and a
removal the samples other files still hold by reading those samples' sets, not every callset
of the dataset: adding genome N+1 then costs its own work whatever N is (issue #18).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_beacon_samples_biosample_id",
        "beacon_samples",
        ["dataset_id", "biosample_id"],
        unique=False,
    )
    op.create_index(
        "ix_beacon_genotype_sets_sample_no", "beacon_genotype_sets", ["sample_no"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_beacon_samples_biosample_id", table_name="beacon_samples")
    op.drop_index("ix_beacon_genotype_sets_sample_no", table_name="beacon_genotype_sets")
