"""The Beacon data generation: one counter bumped by every change to Beacon data.

Ingest and consent changes bump it inside their own transaction. Query workers read it once per
query and rebuild their caches (sample scopes, opt-out exclusions) when it moved, so a change
committed by any process is seen by every worker at its next query.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from gdi_node.db.models import BeaconGeneration


def bump_generation(session: Session) -> None:
    session.execute(
        update(BeaconGeneration)
        .where(BeaconGeneration.id == 1)
        .values(value=BeaconGeneration.value + 1)
    )


_GENERATION = cast(Table, BeaconGeneration.__table__)
_CURRENT = select(_GENERATION.c.value).where(_GENERATION.c.id == 1)  # built once, cached compiled


def current_generation(session: Session) -> int:
    value = session.execute(_CURRENT).scalar()
    return int(value or 0)
