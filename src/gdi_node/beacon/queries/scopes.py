"""Sample scopes for counting: which samples a dataset, a population or a cohort holds, minus
everyone who opted out of research use.

Built from the database once per Beacon data generation (gdi_node.beacon.store.generation) and
shared by the requests of one worker; a consent change or an ingest in any process moves the
generation, and the next query rebuilds the scopes, so an opt-out takes effect at once.

Only ready callsets count (decision record 0014): a sample is in a scope once a ready callset
holds it, and the rows of the other callsets of a dataset (``hidden``) are left out of queries.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from pyroaring import BitMap
from sqlalchemy.orm import Session

from gdi_node.beacon.model.carriers import from_bytes
from gdi_node.beacon.store.generation import current_generation
from gdi_node.beacon.store.variant_rows import sample_rows
from gdi_node.db.consent import records_of


@dataclass(frozen=True)
class Scopes:
    generation: int
    datasets: dict[str, BitMap]  # consenting samples per dataset
    complete: frozenset[str]  # datasets none of whose samples opted out
    callsets: dict[int, BitMap]  # every sample of a ready callset (opted-out ones too)
    hidden: dict[str, tuple[int, ...]]  # per dataset, its callsets that are not ready
    groups: dict[tuple[str, str], BitMap]  # (kind, name) -> consenting samples
    max_span: dict[str, int]  # per dataset, its longest stored variant (end - start)
    one_row_per_allele: frozenset[str]  # datasets none of whose callsets share an allele
    excluded: BitMap
    opted_out_samples: dict[str, int]  # per dataset, how many of its samples opted out
    opted_out: frozenset[str]  # individual ids
    opted_out_records: frozenset[str]  # ids of their records, linked ones included
    owners: dict[int, tuple[str, str, str]]  # sample_no -> (dataset, individual, biosample)
    samples_of: dict[tuple[str, str], BitMap]  # (dataset, individual) -> consenting samples
    people: dict[str, int]  # per dataset, how many consenting individuals have a sample

    def people_in(self, dataset_id: str, samples: BitMap) -> int:
        """How many individuals own ``samples``, consenting samples of ``dataset_id`` (a
        person may have given several; where nobody did, without looking them up)."""
        if len(self.datasets.get(dataset_id, ())) == self.people.get(dataset_id, 0):
            return len(samples)
        owners = self.owners
        return len({owners[s][1] for s in samples if s in owners})

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
    callsets = {callset_id: from_bytes(blob) for callset_id, _, blob, _, _ in rows.callsets}
    genotyped = BitMap.union(*callsets.values()) if callsets else BitMap()
    excluded = BitMap(rows.opted_out)
    datasets: dict[str, BitMap] = {}
    owners: dict[int, tuple[str, str, str]] = {}
    samples_of: dict[tuple[str, str], BitMap] = {}
    hidden: dict[str, tuple[int, ...]] = {}
    for callset_id, dataset_id in rows.hidden:
        hidden[dataset_id] = (*hidden.get(dataset_id, ()), callset_id)
    for sample_no, dataset_id, individual, biosample in rows.samples:
        if sample_no not in genotyped:  # only in a callset being loaded (or in none)
            continue
        datasets.setdefault(dataset_id, BitMap()).add(sample_no)
        owners[sample_no] = (dataset_id, individual, biosample)
        if sample_no not in excluded:
            samples_of.setdefault((dataset_id, individual), BitMap()).add(sample_no)
    spans: dict[str, int] = {}
    sharing: set[str] = set()
    for _, dataset_id, _, span, shares in rows.callsets:
        spans[dataset_id] = max(spans.get(dataset_id, 0), span)
        if shares:
            sharing.add(dataset_id)
    groups: dict[tuple[str, str], BitMap] = {}
    for sample_no, kind, name in rows.groups:
        if sample_no in genotyped:
            groups.setdefault((kind, name), BitMap()).add(sample_no)
    return Scopes(
        generation=generation,
        datasets={d: members - excluded for d, members in datasets.items()},
        complete=frozenset(d for d, members in datasets.items() if members.isdisjoint(excluded)),
        callsets=callsets,
        hidden=hidden,
        groups={key: members - excluded for key, members in groups.items()},
        max_span=spans,
        one_row_per_allele=frozenset(spans) - sharing,
        excluded=excluded,
        opted_out_samples={d: len(members & excluded) for d, members in datasets.items()},
        opted_out=frozenset(rows.opted_out_individuals),
        opted_out_records=records_of(session, rows.opted_out_individuals),
        owners=owners,
        samples_of=samples_of,
        people=dict(Counter(dataset_id for dataset_id, _ in samples_of)),
    )


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
