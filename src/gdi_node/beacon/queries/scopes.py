"""Scopes for counting: which genotype-set bits a dataset, a population or a cohort holds,
minus everyone who opted out of research use, and where each bit counts.

Built from the database once per Beacon data generation (gdi_node.beacon.store.generation) and
shared by the requests of one worker; a consent change or an ingest in any process moves the
generation, and the next query rebuilds the scopes, so an opt-out takes effect at once.

A bit is one sample's genotypes from one file (decision record 0020). Only the bits of ready
files count (decision record 0014): a load's bits are written into shared rows but stay out
of every scope until the load is shown, and a replaced or withdrawn file's bits leave them in
the transaction that retires it. ``present`` says on which contigs a bit counts in the allele
number, ``sparse`` which bits count only where their file has a record (``--absent nocall``).
A gVCF's bits count on its file's span only, less its gaps
(gdi_node.beacon.store.uncalled, decision record 0021); a file loaded with a callable-regions
BED counts on its contigs less its gaps, the BED's complement (decision record 0024).
``sexes`` holds the bits of each sex the sample sheets gave (the groups of kind ``sex``), read
with the scopes, so a sheet applied later counts from the next generation on (ploidy,
decision record 0023). The stored carrier counts and bins include the bits of files being
loaded or removed, so they are read only for datasets with none (``complete``).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from pyroaring import BitMap
from sqlalchemy.orm import Session

from gdi_node.beacon.model.ploidy import Sexes
from gdi_node.beacon.model.populations import normalised_sex
from gdi_node.beacon.model.spans import CoveringSpans, Spans
from gdi_node.beacon.store.callsets import READY
from gdi_node.beacon.store.generation import current_generation
from gdi_node.beacon.store.variant_rows import sample_rows
from gdi_node.db.consent import records_of

Place = tuple[str, str, str]  # (dataset, assembly, chrom)
_NOBODY = BitMap()
_GAPPED = frozenset({"gvcf", "callable_bed"})  # modes whose files store gaps (0021, 0024)


@dataclass(frozen=True)
class Scopes:
    generation: int
    datasets: dict[str, BitMap]  # consenting bits of ready files per dataset
    # datasets none of whose people opted out and with no file being loaded or removed: their
    # stored carrier counts and bins are exact
    complete: frozenset[str]
    unsettled: frozenset[str]  # datasets with a file being loaded or removed
    # bits counted on a whole contig: ready files of samples with one file there
    present: dict[Place, BitMap]
    # bits counted on their file's span only (first..last record): samples with several files
    # on a contig, one per region (decision record 0019)
    spanned: dict[Place, CoveringSpans]  # of (start, end, bit)
    # places with bits of files that store gaps (a gVCF, a BED): their gaps are read (0021)
    gapped: frozenset[Place]
    sparse: BitMap  # bits called only where their file has a record (``--absent nocall``)
    groups: dict[tuple[str, str], BitMap]  # (kind, name) -> consenting bits
    max_span: dict[str, int]  # per dataset, its longest stored variant (end - start)
    excluded: BitMap  # bits of people who opted out
    opted_out_samples: dict[str, int]  # per dataset, how many of its bits opted out
    opted_out: frozenset[str]  # individual ids
    opted_out_records: frozenset[str]  # ids of their records, linked ones included
    owners: dict[int, tuple[str, str, str]]  # bit -> (dataset, individual, biosample)
    samples_of: dict[tuple[str, str], BitMap]  # (dataset, individual) -> consenting bits
    people: dict[str, int]  # per dataset, how many consenting individuals have a bit
    sexes: Sexes  # the bits of each sex the sample sheets gave, for ploidy (decision 0023)

    def people_in(self, dataset_id: str, samples: BitMap) -> int:
        """How many individuals own ``samples``, consenting bits of ``dataset_id`` (a person
        may have several: samples, files; where nobody does, without looking them up)."""
        if len(self.datasets.get(dataset_id, ())) == self.people.get(dataset_id, 0):
            return len(samples)
        owners = self.owners
        return len({owners[s][1] for s in samples if s in owners})

    def present_at(self, place: Place, position: int) -> BitMap:
        """The bits counted in the allele number at ``position`` (0-based) of ``place``."""
        whole = self.present.get(place, _NOBODY)
        spanned = self.spanned.get(place)
        if spanned is None:
            return whole
        return whole | spanned.at(position)

    def samples_of_individuals(self, dataset_id: str, individuals: set[str]) -> BitMap:
        """The consenting samples of ``individuals`` in ``dataset_id``."""
        out = BitMap()
        for individual in individuals:
            found = self.samples_of.get((dataset_id, individual))
            if found is not None:
                out |= found
        return out

    def populations(self, dataset_scope: BitMap) -> list[tuple[str, str, BitMap]]:
        """(kind, name, samples) of the groups with members in ``dataset_scope``."""
        out = []
        for (kind, name), members in sorted(self.groups.items()):
            within = members & dataset_scope
            if within:
                out.append((kind, name, within))
        return out


def _build(session: Session, generation: int) -> Scopes:
    rows = sample_rows(session)
    ready = {c[0]: c for c in rows.callsets if c[3] == READY}
    unsettled = frozenset(c[1] for c in rows.callsets if c[3] != READY)
    samples = {s[0]: s for s in rows.samples}
    opted_samples = set(rows.opted_out)
    bits_of_sample: dict[int, BitMap] = {}
    present: dict[Place, BitMap] = {}
    sparse, excluded = BitMap(), BitMap()
    datasets: dict[str, BitMap] = {}
    owners: dict[int, tuple[str, str, str]] = {}
    samples_of: dict[tuple[str, str], BitMap] = {}
    contigs = {callset_id: Spans.from_json(c[5]).by_contig for callset_id, c in ready.items()}
    files: dict[tuple[str, str, str, int], list[tuple[int, int, int, str]]] = {}
    for bit, callset_id, sample_no in rows.bits:
        callset = ready.get(callset_id)
        sample = samples.get(sample_no)
        if callset is None or sample is None:  # a file being loaded or removed
            continue
        _, dataset_id, assembly, _, mode, _, _ = callset
        bits_of_sample.setdefault(sample_no, BitMap()).add(bit)
        datasets.setdefault(dataset_id, BitMap()).add(bit)
        owners[bit] = (dataset_id, sample[2], sample[3])
        for chrom, (start, end) in contigs[callset_id].items():
            held = files.setdefault((dataset_id, assembly, chrom, sample_no), [])
            held.append((start, end, bit, mode))
        if mode == "absent_nocall":
            sparse.add(bit)
        if sample_no in opted_samples:
            excluded.add(bit)
        else:
            samples_of.setdefault((dataset_id, sample[2]), BitMap()).add(bit)
    spanned_lists: dict[Place, list[tuple[int, int, int]]] = {}
    gapped: set[Place] = set()
    for (dataset_id, assembly, chrom, _), held in files.items():
        place = (dataset_id, assembly, chrom)
        if any(mode in _GAPPED for *_, mode in held):
            gapped.add(place)
        if len(held) == 1 and held[0][3] != "gvcf":  # a file speaks for its whole contig
            present.setdefault(place, BitMap()).add(held[0][2])
            continue
        listed = spanned_lists.setdefault(place, [])
        listed.extend((start, end, bit) for start, end, bit, _ in held)
    spans: dict[str, int] = {}
    for _, dataset_id, _, _, _, _, span in ready.values():
        spans[dataset_id] = max(spans.get(dataset_id, 0), span)
    groups: dict[tuple[str, str], BitMap] = {}
    for sample_no, kind, name in rows.groups:
        if sample_no in bits_of_sample:
            groups.setdefault((kind, name), BitMap()).update(bits_of_sample[sample_no])
    return Scopes(
        generation=generation,
        datasets={d: members - excluded for d, members in datasets.items()},
        complete=frozenset(d for d, members in datasets.items() if members.isdisjoint(excluded))
        - unsettled,
        unsettled=unsettled,
        present=present,
        spanned={place: CoveringSpans(listed) for place, listed in spanned_lists.items()},
        gapped=frozenset(gapped),
        sparse=sparse,
        groups={key: members - excluded for key, members in groups.items()},
        max_span=spans,
        excluded=excluded,
        opted_out_samples={d: len(members & excluded) for d, members in datasets.items()},
        opted_out=frozenset(rows.opted_out_individuals),
        opted_out_records=records_of(session, rows.opted_out_individuals),
        owners=owners,
        samples_of=samples_of,
        people=dict(Counter(dataset_id for dataset_id, _ in samples_of)),
        sexes=_sexes(groups),
    )


def _sexes(groups: dict[tuple[str, str], BitMap]) -> Sexes:
    """The bits of each sex, from the groups of kind ``sex`` in any spelling (opted-out
    people's bits included: scopes leave them out anyway)."""
    by_sex = {"M": BitMap(), "F": BitMap()}
    for (kind, name), members in groups.items():
        sex = normalised_sex(name) if kind == "sex" else None
        if sex is not None:
            by_sex[sex] |= members
    return Sexes.of(by_sex["M"], by_sex["F"])


class ScopeCache:
    """The current Scopes of this worker, rebuilt when the generation moved."""

    def __init__(self) -> None:
        self._current: Scopes | None = None
        self._lock = threading.Lock()

    def cached(self) -> Scopes | None:
        """The scopes built last, without asking the database whether they are current: the
        caller must check the generation itself
        (gdi_node.beacon.store.generation.with_generation)."""
        return self._current

    def get(self, session: Session) -> Scopes:
        generation = current_generation(session)
        current = self._current
        if current is not None and current.generation == generation:
            return current
        with self._lock:
            current = self._current
            if current is None or current.generation != generation:
                current = _build(session, generation)
                self._current = current
            return current
