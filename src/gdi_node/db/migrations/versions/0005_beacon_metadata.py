"""Beacon v2 metadata: individuals, biosamples, runs, analyses, cohorts and dataset records
(Beacon Friendly Format or converted Phenopackets v2), with their filter index: ontology and
custom terms, and alphanumeric values.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "beacon_entries",
        sa.Column("entry_no", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_type", sa.String(16), nullable=False),
        sa.Column(
            "dataset_id",
            sa.String(128),
            sa.ForeignKey("datasets.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("entry_id", sa.String(128), nullable=False),
        sa.Column("individual_id", sa.String(128), nullable=True),
        sa.Column("biosample_id", sa.String(128), nullable=True),
        sa.Column("run_id", sa.String(128), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.UniqueConstraint("entry_type", "dataset_id", "entry_id", name="uq_beacon_entries_id"),
    )
    op.create_index(
        "ix_beacon_entries_individual", "beacon_entries", ["dataset_id", "individual_id"]
    )
    op.create_table(
        "beacon_entry_terms",
        sa.Column(
            "entry_no",
            sa.Integer(),
            sa.ForeignKey("beacon_entries.entry_no", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("term", sa.String(255), primary_key=True),
    )
    op.create_index("ix_beacon_entry_terms_term", "beacon_entry_terms", ["term"])
    op.create_table(
        "beacon_entry_values",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "entry_no",
            sa.Integer(),
            sa.ForeignKey("beacon_entries.entry_no", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("text", sa.String(255), nullable=True),
    )
    op.create_index("ix_beacon_entry_values_field", "beacon_entry_values", ["field", "number"])
    op.create_index("ix_beacon_entry_values_entry", "beacon_entry_values", ["entry_no"])


def downgrade() -> None:
    for table in ("beacon_entry_values", "beacon_entry_terms", "beacon_entries"):
        op.drop_table(table)
