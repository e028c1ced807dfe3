"""Audit trail: the grants a decision refused because their visa issuer is not bound to their
DAC source (GA4GH Passport v1.2, General Requirements 8.3; decision record 0010). NULL when a
decision refused none, which keeps the hashes of earlier rows valid (gdi_node.passport.audit).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_records", sa.Column("refused_visas", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_records", "refused_visas")
