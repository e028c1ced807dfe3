"""The Beacon data generation: one counter bumped by every change to Beacon data.

Ingest and consent changes bump it inside their own transaction. Query workers read it once per
query and rebuild their caches (sample scopes, opt-out exclusions) when it moved, so a change
committed by any process is seen by every worker at its next query.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gdi_node.db.models import BeaconGeneration


def bump_generation(session: Session) -> None:
    session.execute(
        update(BeaconGeneration)
        .where(BeaconGeneration.id == 1)
        .values(value=BeaconGeneration.value + 1)
    )


def current_generation(session: Session) -> int:
    value = session.scalar(select(BeaconGeneration.value).where(BeaconGeneration.id == 1))
    return int(value or 0)
