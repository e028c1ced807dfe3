"""The transactions of a VCF load: short ones, the callset shown to queries all at once.

A load holds the database's write lock (SQLite has one for the whole file; the audit trail and
the query budget of every worker take it too) only for one step at a time, so other writers
wait at most one step and readers never fail (decision record 0014):

1. :func:`start_load`: one short transaction creates the callset ``loading`` under a name of
   its own, numbers the new samples, gives each of its samples a new bit (decision record
   0020: no scope holds it until step 3) and moves the Beacon generation, so every worker's
   next query knows the dataset has a file being loaded before any bit is written.
   The load holds the callset's lease (gdi_node.beacon.store.load_lease) from that transaction on:
   a later load removes the callset of a killed one (gdi_node.beacon.store.callsets.remove_hidden).
2. :func:`write_step`: a batch's bits ORed into its alleles' rows, one transaction per batch.
3. :func:`show_load`: one short transaction makes the callset ``ready`` under its file's name,
   retires the callsets it replaces (the same file name; with ``--update`` the files it
   re-analyses: the same biosamples where their records' spans overlap), applies the sample
   sheet and moves the generation.
4. :func:`discard_load`: a failed load's callset is retired and its rows deleted in steps.

A reader sees the callset either not at all or whole: its bits, its samples, its sample sheet
and the callset it replaces change in the one transaction of step 3.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.sample_numbers import Numbered, apply_sheet, number_samples
from gdi_node.beacon.ingest.sample_sheet import SampleInfo
from gdi_node.beacon.model import carriers
from gdi_node.beacon.model.spans import Spans
from gdi_node.beacon.store.callsets import (
    LOADING,
    READY,
    covering,
    delete_in_steps,
    find_callset,
    hidden_name,
    retire,
    sample_number,
)
from gdi_node.beacon.store.generation import bump_generation
from gdi_node.beacon.store.genotype_sets import allocate_bits
from gdi_node.beacon.store.load_lease import Lease, Leases
from gdi_node.beacon.store.variant_writes import BatchWritten
from gdi_node.db.models import BeaconCallset, Dataset, utcnow
from gdi_node.errors import ConflictError, NotFoundError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wanted:
    """What a load asks for: a file's content into a dataset."""

    dataset_id: str
    name: str  # the file's name: one callset per name and dataset
    sha256: str
    assembly: str
    samples: list[SampleInfo]  # in VCF column order
    from_sheet: bool
    update: bool
    mode: str = "joint"  # how absent sites count (gdi_node.db.models.BeaconCallset.mode)


@dataclass(frozen=True)
class Started:
    """A callset being loaded (hidden from queries)."""

    wanted: Wanted
    callset_id: int
    replaces: int | None  # the ready callset of the same name when the load started
    numbered: Numbered
    bits: npt.NDArray[np.uint32]  # the samples' new bits, in VCF column order
    lease: Lease  # released once the callset is shown or discarded


@dataclass(frozen=True)
class Written:
    records: int
    alleles: int
    max_span: int
    spans: Spans  # of every record read, reference-only ones included


class Unchanged(Exception):
    """The file is loaded already with this content: nothing to do."""

    def __init__(self, callset: BeaconCallset) -> None:
        super().__init__(callset.name)
        self.callset_id = callset.id
        self.samples = callset.sample_count
        self.records = callset.record_count
        self.alleles = callset.allele_count


def _replaceable(session: Session, existing: BeaconCallset | None, wanted: Wanted) -> int | None:
    """The id of the ready callset a load replaces; Unchanged or ConflictError when it may
    not replace it. A file of the same name is the same file only if it holds one of the
    same samples: per-genome folders often give every genome's file the same name, and
    ``--update`` must not replace one genome with another."""
    if existing is None:
        return None
    if existing.sha256 == wanted.sha256 and not wanted.from_sheet:
        raise Unchanged(existing)
    if existing.sha256 != wanted.sha256 and not _shares_a_sample(session, existing, wanted):
        raise ConflictError(
            f"{wanted.name} is already loaded into {wanted.dataset_id} with other samples: a"
            " file name names one file of a dataset; give this genome's file a name of its"
            " own (e.g. its sample id), or withdraw the other file first"
        )
    if existing.sha256 != wanted.sha256 and not wanted.update:
        raise ConflictError(
            f"{wanted.name} is already loaded into {wanted.dataset_id} with other content;"
            " pass --update to replace it"
        )
    return existing.id


def _shares_a_sample(session: Session, existing: BeaconCallset, wanted: Wanted) -> bool:
    held = carriers.from_bytes(existing.samples)
    for info in wanted.samples:
        number = sample_number(session, wanted.dataset_id, info.biosample_id)
        if number is not None and number in held:
            return True
    return False


def start_load(sessions: sessionmaker[Session], wanted: Wanted, leases: Leases) -> Started:
    """Step 1: the hidden callset, the new samples' numbers, the generation moved; the
    callset's lease taken before any other process can see the callset."""
    lease: Lease | None = None
    try:
        with sessions() as session, session.begin():
            # first, so that what follows is read under the write lock (SQLite) or after other
            # loads' steps 1 and 3 (PostgreSQL: the generation row's lock)
            bump_generation(session)
            check_dataset(session, wanted.dataset_id)
            callset_id, replaces, numbered, bits = start_in(session, wanted)
            lease = leases.hold(callset_id)
    except BaseException:
        if lease is not None:
            lease.release()
        raise
    return Started(wanted, callset_id, replaces, numbered, bits, lease)


def check_dataset(session: Session, dataset_id: str) -> None:
    if session.get(Dataset, dataset_id) is None:
        raise NotFoundError(
            f"dataset {dataset_id!r} is not declared; add it under 'datasets:' in the configuration"
        )


def start_in(
    session: Session, wanted: Wanted
) -> tuple[int, int | None, Numbered, npt.NDArray[np.uint32]]:
    """Step 1 for one file in the caller's transaction (the generation moved already): its
    callset id, the callset it replaces, its samples' numbers and bits. Unchanged or a
    DomainError are raised before anything is written."""
    existing = find_callset(session, wanted.dataset_id, wanted.name)
    replaces = _replaceable(session, existing, wanted)
    numbered = number_samples(session, wanted.dataset_id, wanted.samples, wanted.from_sheet)
    callset = BeaconCallset(
        dataset_id=wanted.dataset_id,
        name=hidden_name(LOADING, uuid.uuid4().hex, wanted.name),
        sha256=wanted.sha256,
        assembly=wanted.assembly,
        sample_count=len(wanted.samples),
        samples=carriers.to_bytes(carriers.bitmap_of(numbered.numbers)),
        record_count=0,
        allele_count=0,
        max_span=0,
        state=LOADING,
        mode=wanted.mode,
        loaded_time=utcnow(),
    )
    session.add(callset)
    session.flush()
    bits = allocate_bits(session, callset.id, [int(n) for n in numbered.numbers])
    return callset.id, replaces, numbered, bits


def write_step(
    sessions: sessionmaker[Session],
    started: Started,
    write: Callable[[Session], BatchWritten],
) -> BatchWritten:
    """Step 2: ``write(session)`` (a batch's bits into its alleles' rows) in one transaction."""
    return write_steps(sessions, [started], write)


def write_steps(
    sessions: sessionmaker[Session],
    started: Sequence[Started],
    write: Callable[[Session], BatchWritten],
) -> BatchWritten:
    """Step 2 for loads written together (gdi_node.beacon.ingest.genome_group): one
    transaction, refused when one of them was removed meanwhile."""
    with sessions() as session, session.begin():
        ids = [s.callset_id for s in started]
        alive = session.execute(
            update(BeaconCallset)
            .where(BeaconCallset.id.in_(ids), BeaconCallset.state == LOADING)
            .values(loaded_time=utcnow())  # its last progress
        )
        if cast("CursorResult[Any]", alive).rowcount != len(ids):
            names = ", ".join(s.wanted.name for s in started[:3])
            raise ConflictError(f"the load of {names} was removed meanwhile")
        return write(session)


def show_load(sessions: sessionmaker[Session], started: Started, written: Written) -> list[int]:
    """Step 3: the callset ready and those it replaces retired, at once: the callset of the
    same file name, and with ``--update`` the callsets it re-analyses (:func:`_reanalysed`).
    Returns the ids of the retired callsets (their rows are still to delete)."""
    with sessions() as session, session.begin():
        bump_generation(session)  # first: see step 1
        return show_in(session, started, written)


def show_in(session: Session, started: Started, written: Written) -> list[int]:
    """Step 3 for one load in the caller's transaction (the generation moved already).
    Unchanged or a ConflictError are raised before anything is written."""
    wanted = started.wanted
    state = session.scalar(
        select(BeaconCallset.state).where(BeaconCallset.id == started.callset_id)
    )
    if state != LOADING:
        raise ConflictError(f"the load of {wanted.name} was removed meanwhile")
    current = find_callset(session, wanted.dataset_id, wanted.name)
    if current is not None and current.id != started.replaces:
        _replaceable(session, current, wanted)  # another load showed this file meanwhile
    replaced = {current.id} if current is not None else set()
    replaced |= _reanalysed(session, started, written.spans, replaced)
    for callset_id in sorted(replaced):
        retire(session, callset_id)
    apply_sheet(session, started.numbered)
    session.execute(
        update(BeaconCallset)
        .where(BeaconCallset.id == started.callset_id)
        .values(
            name=wanted.name,
            state=READY,
            record_count=written.records,
            allele_count=written.alleles,
            max_span=written.max_span,
            spans=written.spans.to_json(),
            loaded_time=utcnow(),
        )
    )
    return sorted(replaced)


def _reanalysed(session: Session, started: Started, spans: Spans, replaced: set[int]) -> set[int]:
    """The ready callsets this load re-analyses: those holding one of its samples (biosample
    ids) where its records' spans overlap. Without ``--update`` that is a ConflictError, so a
    sample never counts twice; with it they are replaced, when this file brings all they hold
    (a re-analysis replaces whole files: a joint callset's other samples stay until dead
    genotypes can be marked per sample)."""
    wanted = started.wanted
    mine = carriers.bitmap_of(started.numbered.numbers)
    biosample = {
        int(n): info.biosample_id
        for n, info in zip(started.numbered.numbers, wanted.samples, strict=True)
    }
    found = set()
    for other in covering(session, wanted.dataset_id, mine):
        where = other.spans.overlapping(spans)
        if other.callset_id in replaced or not where:
            continue
        shared = sorted(biosample[n] for n in other.samples & mine)
        who = f"{', '.join(shared[:3])}{' …' if len(shared) > 3 else ''}"
        if not wanted.update:
            raise ConflictError(
                f"{who} already loaded into {wanted.dataset_id} for {', '.join(where[:5])} from"
                f" {other.name}; pass --update to replace it with {wanted.name} (a re-analysis),"
                " or withdraw it first (gdi-node ingest remove)"
            )
        extra_samples = len(other.samples - mine)
        beyond = other.spans.beyond(spans)
        if extra_samples or beyond:
            more = (
                f"{extra_samples} other samples"
                if extra_samples
                else f"{', '.join(beyond[:3])}, outside this file's records"
            )
            raise ConflictError(
                f"{wanted.name} re-analyses {who} of {other.name}, which also holds {more};"
                f" a re-analysis replaces whole files: load a file with everything"
                f" {other.name} holds, or withdraw {other.name} first"
            )
        found.add(other.callset_id)
    return found


def discard_load(sessions: sessionmaker[Session], callset_ids: Sequence[int], lease: Lease) -> None:
    """Step 4, after a failure: retire the callsets, release their lease, delete what was
    written. The lease is released before any row is deleted: SQLite may give a deleted
    callset's id to the next callset, whose load must be able to take that id's lease. A
    failure here is logged; the next load removes what is left
    (gdi_node.beacon.store.callsets.remove_hidden)."""
    try:
        with sessions() as session, session.begin():
            for callset_id in callset_ids:
                retire(session, callset_id)
    except Exception:
        log.warning("a failed load could not be retired; the next load removes it", exc_info=True)
    finally:
        lease.release()
    try:
        for callset_id in callset_ids:
            delete_in_steps(sessions, callset_id)
    except Exception:
        log.warning("the rows of a failed load are left for the next load to remove", exc_info=True)
