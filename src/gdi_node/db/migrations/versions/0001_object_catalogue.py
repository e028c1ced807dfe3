"""Object catalogue: datasets and data objects.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("security_level", sa.String(16), nullable=False),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "data_objects",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.String(128),
            sa.ForeignKey("datasets.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False, unique=True),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("index_path", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_data_objects_dataset_id", "data_objects", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_data_objects_dataset_id", table_name="data_objects")
    op.drop_table("data_objects")
    op.drop_table("datasets")
