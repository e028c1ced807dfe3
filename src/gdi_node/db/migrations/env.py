"""Alembic environment: runs online against the engine handed over by gdi_node.db.migrate."""

from __future__ import annotations

from alembic import context

from gdi_node.db.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
