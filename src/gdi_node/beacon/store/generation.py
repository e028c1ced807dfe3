"""The Beacon data generation: one counter bumped by every change to Beacon data.

Ingest and consent changes bump it inside their own transaction. Query workers read it once per
query and rebuild their caches (sample scopes, opt-out exclusions) when it moved, so a change
committed by any process is seen by every worker at its next query.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, select, true, update
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


@lru_cache(maxsize=512)
def with_generation(counted: Select[Any]) -> Select[Any]:
    """``counted`` (kept statements of per-dataset counts) with the current generation read in
    the same statement: rows of (generation, *counted's columns), one row of (generation,
    None, …) when it counts nothing. One round trip and one snapshot for both, so a query
    answered from cached scopes learns in its own statement whether they were current."""
    found = counted.subquery()
    joined = _GENERATION.outerjoin(found, true())
    return select(_GENERATION.c.value, *found.c).select_from(joined).where(_GENERATION.c.id == 1)
