"""Beacon v2: callsets, numbered samples, variant alleles with carrier bitmaps, search terms,
consent opt-outs, query budgets and the Beacon data generation counter.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_VARIANT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "beacon_callsets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "dataset_id",
            sa.String(128),
            sa.ForeignKey("datasets.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("assembly", sa.String(32), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("samples", sa.LargeBinary(), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("allele_count", sa.BigInteger(), nullable=False),
        sa.Column("max_span", sa.BigInteger(), nullable=False),
        sa.Column("loaded_time", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dataset_id", "name", name="uq_beacon_callsets_name"),
    )
    op.create_table(
        "beacon_samples",
        sa.Column("sample_no", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "dataset_id",
            sa.String(128),
            sa.ForeignKey("datasets.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("individual_id", sa.String(128), nullable=False),
        sa.Column("biosample_id", sa.String(128), nullable=False),
        sa.UniqueConstraint("dataset_id", "name", name="uq_beacon_samples_name"),
    )
    op.create_index("ix_beacon_samples_individual_id", "beacon_samples", ["individual_id"])
    op.create_table(
        "beacon_sample_groups",
        sa.Column(
            "sample_no",
            sa.Integer(),
            sa.ForeignKey("beacon_samples.sample_no", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
    )
    op.create_index("ix_beacon_sample_groups_group", "beacon_sample_groups", ["kind", "name"])
    op.create_table(
        "beacon_variants",
        sa.Column("id", _VARIANT_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "callset_id",
            sa.Integer(),
            sa.ForeignKey("beacon_callsets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("dataset_id", sa.String(128), nullable=False),
        sa.Column("assembly", sa.String(32), nullable=False),
        sa.Column("chrom", sa.String(32), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("alt", sa.Text(), nullable=False),
        sa.Column("variant_type", sa.String(16), nullable=False),
        sa.Column("carriers", sa.Integer(), nullable=False),
        sa.Column("one_copy", sa.LargeBinary(), nullable=False),
        sa.Column("two_copies", sa.LargeBinary(), nullable=False),
        sa.Column("one_called", sa.LargeBinary(), nullable=False),
        sa.Column("none_called", sa.LargeBinary(), nullable=False),
        sa.Column("annotation", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_beacon_variants_position", "beacon_variants", ["assembly", "chrom", "start"]
    )
    op.create_index("ix_beacon_variants_callset_id", "beacon_variants", ["callset_id"])
    op.create_table(
        "beacon_variant_terms",
        sa.Column(
            "variant_id",
            _VARIANT_ID,
            sa.ForeignKey("beacon_variants.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("term", sa.String(255), primary_key=True),
    )
    op.create_index("ix_beacon_variant_terms_term", "beacon_variant_terms", ["kind", "term"])
    op.create_table(
        "consent_opt_outs",
        sa.Column("individual_id", sa.String(128), primary_key=True),
        sa.Column("opted_out_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_table(
        "beacon_query_budget",
        sa.Column("principal", sa.String(200), primary_key=True),
        sa.Column("window", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "beacon_generation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(
        sa.table("beacon_generation", sa.column("id"), sa.column("value")), [{"id": 1, "value": 0}]
    )


def downgrade() -> None:
    for table in (
        "beacon_generation",
        "beacon_query_budget",
        "consent_opt_outs",
        "beacon_variant_terms",
        "beacon_variants",
        "beacon_sample_groups",
        "beacon_samples",
        "beacon_callsets",
    ):
        op.drop_table(table)
