"""Genomes written together (issue #18: 60,000 genomes loaded in an hour on two cores).

A genome's file, read on its own (gdi_node.beacon.ingest.genome_reader), brings ~1,500
alleles, most of which other genomes bring too: written one genome at a time, every allele row
and carrier slice is rewritten once per genome. Written as a group, each distinct allele's
slice is read and rewritten once for the whole group (512 genomes of the benchmark's cohort
bring 759,000 alleles but only 16,000 distinct ones).

Each genome is still its own callset, with the steps of gdi_node.beacon.ingest.callset_load
(decision record 0014) taken for the whole group in each transaction:

1. one transaction creates every genome's hidden callset, numbers and bits; a genome that is
   loaded already with the same content is ``unchanged``, one that may not be loaded (its
   file name loaded with other content and no ``--update``, a sample conflict) ``failed``,
   and neither stops the others;
2. the group's alleles, merged, in write steps of ``batch_size`` alleles, then its gaps;
3. one transaction shows every genome (a genome refused now, e.g. a re-analysis conflict
   with a genome shown meanwhile, is retired instead and reported failed).

Answers see each genome whole or not at all: the whole group at once. A failure or an
interruption during step 2 discards the group (none of it was shown); the genomes of groups
shown before stay, and loading the same files again loads only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callset_load import (
    Started,
    Unchanged,
    Wanted,
    Written,
    check_dataset,
    discard_load,
    show_in,
    start_in,
    write_steps,
)
from gdi_node.beacon.ingest.genome_reader import HOLDINGS, GenomeCalls
from gdi_node.beacon.model.carriers import AlleleBits, bitmap_of
from gdi_node.beacon.store.callsets import delete_in_steps, remove_hidden, retire
from gdi_node.beacon.store.generation import bump_generation
from gdi_node.beacon.store.load_lease import Lease, Leases
from gdi_node.beacon.store.uncalled import write_gaps
from gdi_node.beacon.store.variant_writes import (
    BatchWritten,
    NewAllele,
    merged_annotation,
    refresh_statistics,
    write_alleles,
)
from gdi_node.errors import DomainError

GAP_STEP = 20_000  # gap rows per write step


@dataclass(frozen=True)
class GenomeLoad:
    """A genome's file read, and what its load asks for."""

    calls: GenomeCalls
    wanted: Wanted
    read_seconds: float = 0.0


@dataclass(frozen=True)
class GenomeLoaded:
    """What became of one genome of a group."""

    load: GenomeLoad
    status: str  # loaded, replaced, unchanged, failed
    error: DomainError | None = None  # why it failed
    callset_id: int | None = None
    records: int = 0
    alleles: int = 0

    @property
    def detail(self) -> str:
        return self.error.message if self.error else ""


@dataclass
class GroupWritten:
    outcomes: list[GenomeLoaded] = field(default_factory=list)
    slices: int = 0  # carrier slice rows written for the group


def load_group(
    sessions: sessionmaker[Session],
    leases: Leases,
    loads: Sequence[GenomeLoad],
    *,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> GroupWritten:
    """Load ``loads`` (genomes of one dataset) together: steps 1-3 of the module doc."""
    remove_hidden(sessions, leases)
    result = GroupWritten()
    started, lease = _start(sessions, leases, loads, result)
    if not started:
        lease.release()
        return result
    by_callset = {s.callset_id: load for s, load in started}
    group = [s for s, _ in started]
    try:
        result.slices = _write(sessions, group, by_callset, batch_size, progress)
        replaced, refused = _show(sessions, group, by_callset, result)
    except BaseException:
        discard_load(sessions, [one.callset_id for one in group], lease)
        raise
    lease.release()
    for callset_id in [*replaced, *refused]:
        delete_in_steps(sessions, callset_id)
    refresh_statistics(sessions)
    return result


def _start(
    sessions: sessionmaker[Session],
    leases: Leases,
    loads: Sequence[GenomeLoad],
    result: GroupWritten,
) -> tuple[list[tuple[Started, GenomeLoad]], Lease]:
    """Step 1; unchanged and refused genomes are reported in ``result``."""
    begun: list[tuple[GenomeLoad, int, int | None, Any, Any]] = []
    with sessions() as session, session.begin():
        bump_generation(session)  # first: see gdi_node.beacon.ingest.callset_load
        check_dataset(session, loads[0].wanted.dataset_id)
        for load in loads:
            try:
                begun.append((load, *start_in(session, load.wanted)))
            except Unchanged as same:
                result.outcomes.append(_unchanged(load, same))
            except DomainError as exc:
                result.outcomes.append(GenomeLoaded(load, "failed", exc))
        lease = leases.hold_all([callset_id for _, callset_id, *_ in begun])
    started = [
        (Started(load.wanted, callset_id, replaces, numbered, bits, lease), load)
        for load, callset_id, replaces, numbered, bits in begun
    ]
    return started, lease


def _write(
    sessions: sessionmaker[Session],
    started: list[Started],
    loads: dict[int, GenomeLoad],
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Step 2: the group's alleles merged (each distinct allele once, with every genome's
    bit), written in position order, ``batch_size`` per transaction; then the gaps."""
    calls = {callset_id: load.calls for callset_id, load in loads.items()}
    alleles = _merged(started, calls)
    slices = 0
    for low in range(0, len(alleles), batch_size):
        batch = alleles[low : low + batch_size]

        def write(session: Session, batch: list[NewAllele] = batch) -> BatchWritten:
            return write_alleles(session, batch)

        slices += write_steps(sessions, started, write).slices
        if progress is not None:
            progress(min(low + batch_size, len(alleles)))
    for step in _gap_steps(started, loads):

        def write_step_gaps(session: Session, step: list[Any] = step) -> BatchWritten:
            for one, gaps in step:
                wanted = one.wanted
                write_gaps(session, one.callset_id, wanted.dataset_id, wanted.assembly, gaps)
            return BatchWritten(0, 0, 0)

        write_steps(sessions, started, write_step_gaps)
    return slices


def _gap_steps(
    started: list[Started], loads: dict[int, GenomeLoad]
) -> Iterator[list[tuple[Started, list[tuple[str, int, int, int]]]]]:
    """The group's gaps with each genome's bit, about :data:`GAP_STEP` per write step."""
    step: list[tuple[Started, list[tuple[str, int, int, int]]]] = []
    size = 0
    for one in started:
        bit = int(one.bits[0])
        gaps = [(chrom, begin, end, bit) for chrom, begin, end in loads[one.callset_id].calls.gaps]
        if gaps:
            step.append((one, gaps))
            size += len(gaps)
        if size >= GAP_STEP:
            yield step
            step, size = [], 0
    if step:
        yield step


def _merged(started: list[Started], calls: dict[int, GenomeCalls]) -> list[NewAllele]:
    """Each distinct allele once: its row (ends and annotations merged), its terms and, per
    holding, the bits of the genomes holding it so."""
    rows: dict[tuple[Any, ...], list[Any]] = {}
    for one in started:
        bit = int(one.bits[0])
        dataset_id, assembly = one.wanted.dataset_id, one.wanted.assembly
        for a in calls[one.callset_id].alleles:
            key = (dataset_id, assembly, a.chrom, a.start, a.ref, a.alt)
            entry = rows.get(key)
            if entry is None:
                row = {
                    "dataset_id": dataset_id, "assembly": assembly, "chrom": a.chrom,
                    "start": a.start, "end": a.end, "ref": a.ref, "alt": a.alt,
                    "variant_type": a.variant_type, "annotation": a.annotation,
                }  # fmt: skip
                entry = rows[key] = [row, set(a.terms), [[] for _ in HOLDINGS]]
            else:
                row = entry[0]
                row["end"] = max(row["end"], a.end)
                if a.annotation != row["annotation"]:
                    row["annotation"] = merged_annotation(row["annotation"], a.annotation)
                entry[1].update(a.terms)
            for n, flag in enumerate(HOLDINGS):
                if a.held & flag:
                    entry[2][n].append(bit)
    out = []
    for key in sorted(rows, key=lambda k: (k[2], k[3], k[4], k[5])):
        row, terms, held = rows[key]
        bits = AlleleBits(*(bitmap_of(np.asarray(b, dtype=np.uint32)) for b in held))
        out.append(NewAllele(row, bits, sorted(terms)))
    return out


def _show(
    sessions: sessionmaker[Session],
    started: list[Started],
    loads: dict[int, GenomeLoad],
    result: GroupWritten,
) -> tuple[list[int], list[int]]:
    """Step 3: every genome shown in one transaction, or retired when it may not be now.
    Returns the callsets replaced and those refused (their rows are still to delete)."""
    replaced: list[int] = []
    refused: list[int] = []
    with sessions() as session, session.begin():
        bump_generation(session)
        for one in started:
            load = loads[one.callset_id]
            calls = load.calls
            written = Written(calls.records, len(calls.alleles), calls.max_span, calls.spans)
            try:
                gone = show_in(session, one, written)
            except Unchanged as same:
                retire(session, one.callset_id)
                refused.append(one.callset_id)
                result.outcomes.append(_unchanged(load, same))
                continue
            except DomainError as exc:
                retire(session, one.callset_id)
                refused.append(one.callset_id)
                result.outcomes.append(GenomeLoaded(load, "failed", exc))
                continue
            replaced += gone
            status = "replaced" if gone else "loaded"
            result.outcomes.append(
                GenomeLoaded(
                    load,
                    status,
                    callset_id=one.callset_id,
                    records=calls.records,
                    alleles=len(calls.alleles),
                )
            )
    return replaced, refused


def _unchanged(load: GenomeLoad, same: Unchanged) -> GenomeLoaded:
    return GenomeLoaded(
        load, "unchanged", callset_id=same.callset_id, records=same.records, alleles=same.alleles
    )
