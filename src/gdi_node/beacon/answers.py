"""One dataset's answer to a g_variants query: which alleles have carriers in the caller's
scope, how many, the records of one page with their frequencies, and how many rare alleles
the answer reveals (what the query budget charges for)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap

from gdi_node.beacon.alleles import (
    Allele,
    Counter,
    g_variant_document,
    group_alleles,
    population_frequency,
)
from gdi_node.beacon.carriers import AlleleCounts
from gdi_node.beacon.precision import CountPolicy, Reported
from gdi_node.beacon.requests import BeaconRequest, Granularity
from gdi_node.beacon.scopes import Scopes


@dataclass(frozen=True)
class DatasetAnswer:
    """One dataset's result set, before it is shaped for the returned granularity."""

    dataset_id: str
    granularity: Granularity
    count: Reported
    results: list[dict[str, Any]]
    rare_revealed: int = 0

    @property
    def exists(self) -> bool:
        return self.count.value > 0


@dataclass(frozen=True)
class AnswerContext:
    dataset_id: str
    level: Granularity
    policy: CountPolicy
    source: tuple[str, str, str]  # FrequencyInPopulations source, sourceReference, version
    allele_specific: bool  # the query names one allele: a hit reveals it
    rare_carriers: int  # at most this many carriers in scope = rare (0: never charged)


def answer_dataset(
    context: AnswerContext,
    rows: Sequence[Any],
    scopes: Scopes,
    counter: Counter,
    request: BeaconRequest,
) -> DatasetAnswer:
    scope = scopes.datasets.get(context.dataset_id, BitMap())
    hits: list[tuple[Allele, AlleleCounts]] = []
    for allele in group_alleles(rows):
        counts = counter.counts(allele, scope)
        if counts.carriers > 0:
            hits.append((allele, counts))
    page: list[tuple[Allele, AlleleCounts]] = []
    if context.level is Granularity.RECORD:
        first = request.skip * request.limit
        page = hits[first : first + request.limit]
    results = [
        _record(context, allele, counts, scope=scope, scopes=scopes, counter=counter)
        for allele, counts in page
    ]
    revealed = hits if context.allele_specific else page
    rare = sum(1 for _, counts in revealed if counts.carriers <= context.rare_carriers)
    # The number of variants is exact (it counts alleles, not people); a boolean-only dataset
    # says "at least one" as an imprecise 1.
    count = Reported(len(hits), "exact")
    if context.level is Granularity.BOOLEAN and hits:
        count = Reported(1, "imprecise", 1)
    return DatasetAnswer(context.dataset_id, context.level, count, results, rare)


def _record(
    context: AnswerContext,
    allele: Allele,
    counts: AlleleCounts,
    *,
    scope: BitMap,
    scopes: Scopes,
    counter: Counter,
) -> dict[str, Any]:
    frequencies = [population_frequency(context.dataset_id, counts, context.policy)]
    for kind, name, members in scopes.populations(scope):
        group_counts = counter.counts(allele, members)
        if group_counts.allele_number:
            label = f"{context.dataset_id} {kind} {name}"
            frequencies.append(population_frequency(label, group_counts, context.policy))
    source, reference, version = context.source
    return g_variant_document(
        allele,
        [
            {
                "source": source,
                "sourceReference": reference,
                "version": version,
                "frequencies": frequencies,
            }
        ],
    )
