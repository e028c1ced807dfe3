"""DRS: index files as objects of their own, and aliases that resolve to objects.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Objects registered before this revision get their index object when ``gdi-node ingest files``
runs on them again (idempotent; it hashes only the index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_objects",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column(
            "data_object_id",
            sa.String(64),
            sa.ForeignKey("data_objects.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "object_aliases",
        sa.Column("alias", sa.String(255), primary_key=True),
        sa.Column(
            "object_id",
            sa.String(64),
            sa.ForeignKey("data_objects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_object_aliases_object_id", "object_aliases", ["object_id"])


def downgrade() -> None:
    op.drop_index("ix_object_aliases_object_id", table_name="object_aliases")
    op.drop_table("object_aliases")
    op.drop_table("index_objects")
