"""Callsets (loaded files) of a dataset: their states, finding one by file name or by the
samples it holds, and deleting one with its bits.

States (decision record 0014): queries answer from ``ready`` callsets only. A VCF load ORs its
bits into the dataset's allele rows in short transactions under a ``loading`` callset, whose
bits no scope holds, and makes it ``ready`` in one short transaction at the end; a replaced or
failed callset turns ``retired`` in one transaction (its bits leave every scope at once) and
its bits are then cleared from the rows in short ones (:func:`delete_in_steps`, decision
record 0020). A ``loading`` callset whose load was killed (its lease is free:
gdi_node.beacon.store.load_lease) is removed by the next load (:func:`remove_hidden`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from pyroaring import BitMap
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.model.carriers import from_bytes
from gdi_node.beacon.model.spans import Spans
from gdi_node.beacon.store.generation import bump_generation
from gdi_node.beacon.store.genotype_sets import bits_of, clear_bits
from gdi_node.beacon.store.load_lease import Leases
from gdi_node.db.models import BeaconCallset, BeaconGenotypeSet, BeaconSample

READY, LOADING, RETIRED = "ready", "loading", "retired"
_SETS = cast(Table, BeaconGenotypeSet.__table__)
_CHUNK = 500  # sample numbers per IN list


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
    """The dataset's ready callsets that hold any of ``samples`` (sample numbers), found
    through those samples' genotype sets: the cost is theirs, not the dataset's."""
    holding = (
        select(_SETS.c.callset_id)
        .where(_SETS.c.sample_no.in_(bindparam("numbers", expanding=True)))
        .distinct()
    )
    found: set[int] = set()
    numbers = list(samples)
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        found.update(int(c) for c in session.scalars(holding, {"numbers": chunk}))
    if not found:
        return []
    rows = session.execute(
        select(
            BeaconCallset.id, BeaconCallset.name, BeaconCallset.samples, BeaconCallset.spans
        ).where(
            BeaconCallset.dataset_id == dataset_id,
            BeaconCallset.state == READY,
            BeaconCallset.id.in_(sorted(found)),
        )
    )
    out = []
    for row in rows:
        held = from_bytes(row.samples)
        if held.intersection_cardinality(samples):
            spans = Spans.from_json(row.spans)
            out.append(Covering(int(row.id), str(row.name), held, spans))
    return sorted(out, key=lambda c: c.callset_id)


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
    """Delete a callset and its bits in the caller's transaction (BFF loads: small)."""
    dataset_id = session.scalar(
        select(BeaconCallset.dataset_id).where(BeaconCallset.id == callset_id)
    )
    if dataset_id is None:
        return
    bits, after = bits_of(session, callset_id), -1
    while True:
        cleared = clear_bits(session, dataset_id, bits, after)
        if cleared.last_variant is None:
            break
        after = cleared.last_variant
    session.execute(delete(BeaconCallset).where(BeaconCallset.id == callset_id))
    session.flush()


def delete_in_steps(sessions: sessionmaker[Session], callset_id: int) -> None:
    """Delete a callset that queries no longer read (retired, or never shown): its bits are
    cleared from the allele rows :data:`CLEAR_STEP` slices per transaction, so other writers
    wait at most one step; then the callset, its bits and the samples only it held go."""
    with sessions() as session:
        dataset_id = session.scalar(
            select(BeaconCallset.dataset_id).where(BeaconCallset.id == callset_id)
        )
        bits = bits_of(session, callset_id)
    if dataset_id is None:
        return
    after = -1
    while True:
        with sessions() as session, session.begin():
            cleared = clear_bits(session, dataset_id, bits, after)
        if cleared.last_variant is None:
            break
        after = cleared.last_variant
    with sessions() as session, session.begin():
        # queries leave the callset out until they rebuild their scopes: let them, now
        bump_generation(session)
        _delete_samples_of(session, callset_id)
        session.execute(delete(BeaconCallset).where(BeaconCallset.id == callset_id))


def _delete_samples_of(session: Session, callset_id: int) -> None:
    """Delete the samples only ``callset_id`` holds (a failed load's new samples, those a
    replacing file no longer has), found through their genotype sets. A load that started
    meanwhile and holds one of them has its sets written already: this runs after the
    generation row is locked."""
    found = session.scalar(select(BeaconCallset.samples).where(BeaconCallset.id == callset_id))
    if found is None:
        return
    mine = list(from_bytes(found))
    for start in range(0, len(mine), _CHUNK):
        chunk = mine[start : start + _CHUNK]
        elsewhere = set(
            session.scalars(
                select(_SETS.c.sample_no)
                .where(_SETS.c.sample_no.in_(chunk), _SETS.c.callset_id != callset_id)
                .distinct()
            )
        )
        alone = [n for n in chunk if n not in elsewhere]
        if alone:
            session.execute(delete(BeaconSample).where(BeaconSample.sample_no.in_(alone)))


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
