"""Beacon: a callset's state. A VCF load writes its rows in short transactions under a callset
that queries leave out (``loading``) and shows it in one short transaction at the end
(``ready``); a replaced or failed callset is hidden at once (``retired``) and its rows are then
deleted in short transactions (decision record 0014). Existing callsets are ``ready``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "beacon_callsets",
        sa.Column("state", sa.String(16), nullable=False, server_default="ready"),
    )


def downgrade() -> None:
    # not batch mode: on SQLite that copies the table and drops the old one, and dropping
    # beacon_callsets deletes every variant through the foreign keys (SQLite >= 3.35 drops a
    # column in place)
    op.drop_column("beacon_callsets", "state")
