"""Callsets of a dataset: their states, finding one by file name or by the samples it holds,
deleting one with its variants, and knowing whether a callset stores an allele its dataset
already holds.

States (decision record 0014): queries answer from ``ready`` callsets only. A VCF load writes
its rows in short transactions under a ``loading`` callset and makes it ``ready`` in one short
transaction at the end; a replaced or failed callset turns ``retired`` in one transaction and
its rows are then deleted in short ones (:func:`delete_in_steps`). A ``loading`` callset whose
load was killed (its lease is free: gdi_node.beacon.store.load_lease) is removed by the next load
(:func:`remove_hidden`).

A dataset whose callsets never share an allele has one variant row per allele, so a range
count can count rows from the covering position index instead of grouping copies
(gdi_node.beacon.store.variant_rows). Each load records whether its alleles meet another copy in the
dataset, either from a callset loaded before it or within itself; a later load that meets an
earlier one marks itself, so every pair of copies is marked on one side. A flag left set after
the other side is deleted only costs speed, never a wrong count.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from pyroaring import BitMap
from sqlalchemy import CursorResult, Table, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.model.carriers import from_bytes
from gdi_node.beacon.model.spans import Spans
from gdi_node.beacon.store.generation import bump_generation
from gdi_node.beacon.store.load_lease import Leases
from gdi_node.beacon.store.variant_bins import B, delete_bins
from gdi_node.db.models import (
    BeaconCallset,
    BeaconSample,
    BeaconVariant,
    BeaconVariantTerm,
)

_VARIANTS = cast(Table, BeaconVariant.__table__)
_TERMS = cast(Table, BeaconVariantTerm.__table__)
READY, LOADING, RETIRED = "ready", "loading", "retired"
DELETE_STEP = 5000  # variant rows deleted per transaction


def find_callset(session: Session, dataset_id: str, name: str) -> BeaconCallset | None:
    """The dataset's ready callset loaded from a file of this name, if any."""
    return session.scalars(
        select(BeaconCallset).where(
            BeaconCallset.dataset_id == dataset_id,
            BeaconCallset.name == name,
            BeaconCallset.state == READY,
        )
    ).first()


@dataclass(frozen=True)
class Covering:
    """A ready callset holding some samples: its file name, samples and spans."""

    callset_id: int
    name: str
    samples: BitMap
    spans: Spans


def covering(session: Session, dataset_id: str, samples: BitMap) -> list[Covering]:
    """The dataset's ready callsets that hold any of ``samples`` (sample numbers)."""
    rows = session.execute(
        select(
            BeaconCallset.id, BeaconCallset.name, BeaconCallset.samples, BeaconCallset.spans
        ).where(BeaconCallset.dataset_id == dataset_id, BeaconCallset.state == READY)
    )
    out = []
    for row in rows:
        held = from_bytes(row.samples)
        if held.intersection_cardinality(samples):
            spans = Spans.from_json(row.spans)
            out.append(Covering(int(row.id), str(row.name), held, spans))
    return out


def sample_number(session: Session, dataset_id: str, biosample_id: str) -> int | None:
    """The number of a dataset's sample (a biosample id), if it was ever loaded."""
    return session.scalar(
        select(BeaconSample.sample_no).where(
            BeaconSample.dataset_id == dataset_id, BeaconSample.biosample_id == biosample_id
        )
    )


def ready_callsets(session: Session, dataset_id: str) -> set[int]:
    return set(
        session.scalars(
            select(BeaconCallset.id).where(
                BeaconCallset.dataset_id == dataset_id, BeaconCallset.state == READY
            )
        )
    )


def hidden_name(state: str, token: str, name: str) -> str:
    """The name a callset holds while it is not ready: names are unique per dataset, and a
    load that replaces a file of the same name runs beside the callset it replaces."""
    return f"({state} {token}) {name}"[:255]


def retire(session: Session, callset_id: int) -> None:
    """Hide a callset from queries at once (in the caller's transaction); its rows are
    deleted later by :func:`delete_in_steps`."""
    name = session.scalar(select(BeaconCallset.name).where(BeaconCallset.id == callset_id))
    if name is not None:
        session.execute(
            update(BeaconCallset)
            .where(BeaconCallset.id == callset_id)
            .values(state=RETIRED, name=hidden_name(RETIRED, str(callset_id), name))
        )


def delete_callset(session: Session, callset_id: int) -> None:
    """Delete a callset and its rows in the caller's transaction (BFF loads: small)."""
    variant_ids = select(_VARIANTS.c.id).where(_VARIANTS.c.callset_id == callset_id)
    session.execute(delete(_TERMS).where(_TERMS.c.variant_id.in_(variant_ids)))
    delete_bins(session, callset_id)
    session.execute(delete(_VARIANTS).where(_VARIANTS.c.callset_id == callset_id))
    session.execute(delete(BeaconCallset).where(BeaconCallset.id == callset_id))
    session.flush()


def delete_in_steps(sessions: sessionmaker[Session], callset_id: int) -> None:
    """Delete a callset that queries no longer read (retired, or never shown) with its rows,
    :data:`DELETE_STEP` variants per transaction, so other writers wait at most one step."""
    step = (
        select(_VARIANTS.c.id)
        .where(_VARIANTS.c.callset_id == callset_id)
        .order_by(_VARIANTS.c.id)
        .limit(DELETE_STEP)
        .scalar_subquery()
    )
    while True:
        with sessions() as session, session.begin():
            session.execute(delete(_TERMS).where(_TERMS.c.variant_id.in_(step)))
            deleted = session.execute(delete(_VARIANTS).where(_VARIANTS.c.id.in_(step)))
            gone = cast("CursorResult[Any]", deleted).rowcount
        if not gone:
            break
    with sessions() as session:
        binned = select(B.c.chrom).where(B.c.callset_id == callset_id).distinct()
        chroms = list(session.scalars(binned))
    for chrom in chroms:  # bins: about 100 per Mb and variant type
        with sessions() as session, session.begin():
            session.execute(delete(B).where(B.c.callset_id == callset_id, B.c.chrom == chrom))
    with sessions() as session, session.begin():
        # queries leave the callset out until they rebuild their scopes: let them, now
        bump_generation(session)
        _delete_samples_of(session, callset_id)
        session.execute(delete(BeaconCallset).where(BeaconCallset.id == callset_id))


def _delete_samples_of(session: Session, callset_id: int) -> None:
    """Delete the samples only ``callset_id`` holds (a failed load's new samples, those a
    replacing file no longer has). A load that started meanwhile and holds one of them has
    its callset written already: this runs after the generation row is locked."""
    found = session.execute(
        select(BeaconCallset.dataset_id, BeaconCallset.samples).where(
            BeaconCallset.id == callset_id
        )
    ).first()
    if found is None:
        return
    others = session.scalars(
        select(BeaconCallset.samples).where(
            BeaconCallset.dataset_id == found.dataset_id, BeaconCallset.id != callset_id
        )
    )
    alone = from_bytes(found.samples) - BitMap.union(BitMap(), *map(from_bytes, others))
    numbers = list(alone)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        session.execute(delete(BeaconSample).where(BeaconSample.sample_no.in_(chunk)))


def remove_hidden(sessions: sessionmaker[Session], leases: Leases) -> None:
    """Delete every retired callset, and every loading one whose load was killed (its lease
    is free), in steps: what a failed, killed or replaced load left behind."""
    with sessions() as session:
        loading = session.scalars(select(BeaconCallset.id).where(BeaconCallset.state == LOADING))
        killed = [callset_id for callset_id in loading if not leases.is_held(callset_id)]
    if killed:
        with sessions() as session, session.begin():
            session.execute(
                update(BeaconCallset)
                .where(BeaconCallset.id.in_(killed), BeaconCallset.state == LOADING)
                .values(state=RETIRED)
            )
    with sessions() as session:
        retired = select(BeaconCallset.id).where(BeaconCallset.state == RETIRED)
        callset_ids = list(session.scalars(retired))
    for callset_id in callset_ids:
        delete_in_steps(sessions, callset_id)


def alleles_stored_twice(session: Session, callset_id: int, counted: Collection[int]) -> bool:
    """Whether an allele of ``callset_id`` has more than one variant row in its dataset among
    the rows of the callsets ``counted`` (which include it): read its rows, and look for
    copies through the covering position index."""
    here, other = _VARIANTS.alias("here"), _VARIANTS.alias("other")
    copies = (
        select(func.count())
        .where(
            other.c.assembly == here.c.assembly,
            other.c.chrom == here.c.chrom,
            other.c.start == here.c.start,
            other.c.dataset_id == here.c.dataset_id,
            other.c.ref == here.c.ref,
            other.c.alt == here.c.alt,
            # "+ 0": never the callset index for this side (without statistics, during a
            # first load, SQLite would take it and compare every row with every row)
            (other.c.callset_id + 0).in_(sorted(counted)),
        )
        .scalar_subquery()
    )
    found = select(here.c.id).where(here.c.callset_id == callset_id, copies > 1)
    return session.execute(found.limit(1)).first() is not None
