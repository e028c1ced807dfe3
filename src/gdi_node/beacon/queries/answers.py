"""One dataset's answer to a g_variants query: which alleles have carriers in the caller's
scope, how many, the records of one page with their frequencies, and how many rare alleles
the answer reveals (what the query budget charges for)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap

from gdi_node.beacon.framework.requests import BeaconRequest, Granularity
from gdi_node.beacon.framework.responses import DatasetAnswer
from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.precision import AT_LEAST_ONE, CountPolicy, Reported
from gdi_node.beacon.queries.alleles import (
    Allele,
    Counter,
    g_variant_document,
    group_alleles,
    population_frequency,
)
from gdi_node.beacon.queries.item_release import (
    SHOW_ALL,
    ItemRelease,
    dataset_release,
)
from gdi_node.beacon.queries.population_filters import population_items
from gdi_node.beacon.queries.scopes import Scopes


@dataclass(frozen=True)
class AnswerContext:
    dataset_id: str
    level: Granularity
    policy: CountPolicy
    source: tuple[str, str, str]  # FrequencyInPopulations source, sourceReference, version
    allele_specific: bool  # the query names one allele: a hit reveals it
    rare_carriers: int  # at most this many carriers in scope = rare (0: never charged)
    light: bool = False  # rows without bitmaps (see answer_dataset)
    scope: BitMap | None = None  # the samples counted (filters, a path); None: the dataset's
    label: str = ""  # the dataset's population label (decision record 0018); "": its id
    population: str | None = None  # population filters: the label of the one item listed
    extra_groups: bool = False  # list cohort and free population items too
    # what filters or a path keep of the dataset (None: not narrowed), and whether population
    # filters select a part of it: they decide which items are shown (decision record 0022)
    narrowing: BitMap | None = None
    population_narrows: bool = False

    @property
    def dataset_label(self) -> str:
        return self.label or self.dataset_id

    def samples(self, scopes: Scopes) -> BitMap:
        if self.scope is not None:
            return self.scope
        return scopes.datasets.get(self.dataset_id, BitMap())


def answer_dataset(
    context: AnswerContext,
    rows: Sequence[Any],
    scopes: Scopes,
    counter: Counter,
    request: BeaconRequest,
    *,
    full_rows: Callable[[list[int]], list[Any]],
) -> DatasetAnswer:
    """``rows`` are full rows, or (``context.light``) rows without annotation, whose carrier
    bits are not read: then the scope is the whole dataset, nobody in it opted out, no file of
    it is being loaded or removed, and the stored carrier counts are exact."""
    scope = context.samples(scopes)
    hits: list[tuple[Allele, int]] = []  # allele, carriers in scope
    if not context.light:
        counter.prefetch(rows)
    for allele in group_alleles(rows):
        if context.light:
            carriers = sum(int(row.carriers) for row in allele.rows)
        else:
            carriers = counter.carried(allele, scope)
        if carriers > 0:
            hits.append((allele, carriers))
    first = request.skip * request.limit
    listed = hits[first : first + request.limit] if context.level is Granularity.RECORD else []
    if listed and context.light:  # the bitmaps and annotations of this page's rows only
        ids = [r.id for allele, _ in listed for r in allele.rows]
        full = {a.key: a for a in group_alleles(full_rows(ids))}
        listed = [(full[allele.key], carriers) for allele, carriers in listed]
    revealed = hits if context.allele_specific else listed
    return _answer(context, len(hits), listed, revealed, scopes=scopes, counter=counter)


def answer_from_totals(
    context: AnswerContext,
    total: int,
    page: list[tuple[Allele, int]],
    scopes: Scopes,
    counter: Counter,
) -> DatasetAnswer:
    """The answer when the database counted the alleles (stored carrier counts: the whole
    dataset in scope) and ``page`` holds the full rows of the records to show."""
    return _answer(context, total, page, page, scopes=scopes, counter=counter)


def _answer(
    context: AnswerContext,
    total: int,
    page: list[tuple[Allele, int]],
    revealed: list[tuple[Allele, int]],
    *,
    scopes: Scopes,
    counter: Counter,
) -> DatasetAnswer:
    """Records of ``page``, the count, and how many rare alleles ``revealed`` shows."""
    scope = context.samples(scopes)
    items: list[tuple[str, BitMap]] = []
    release = SHOW_ALL
    if page:
        release = _release(context, scopes)
    if page and context.population is None:
        label, extra = context.dataset_label, context.extra_groups
        items = population_items(scopes, scope, label, extra_groups=extra)
    counter.prefetch(row for allele, _ in page for row in allele.rows)
    results = [
        _record(context, allele, scope, items, counter, release=release) for allele, _ in page
    ]
    rare = sum(1 for _, carriers in revealed if carriers <= context.rare_carriers)
    # The number of variants is exact (it counts alleles, not people); a boolean-only dataset
    # says "at least one" as an imprecise 1.
    count = Reported(total, "exact")
    if context.level is Granularity.BOOLEAN and total:
        count = AT_LEAST_ONE
    return DatasetAnswer(context.dataset_id, context.level, count, results, rare)


def _release(context: AnswerContext, scopes: Scopes) -> ItemRelease:
    """The item release rule of the dataset's records: cells cut from its consenting samples
    by every group counted apart and by the query's narrowing (decision record 0022)."""
    universe = scopes.datasets.get(context.dataset_id, BitMap())
    return dataset_release(
        context.policy.threshold,
        scopes,
        universe,
        narrowing=context.narrowing,
        population_narrows=context.population_narrows,
    )


def _record(
    context: AnswerContext,
    allele: Allele,
    scope: BitMap,
    items: list[tuple[str, BitMap]],
    counter: Counter,
    *,
    release: ItemRelease,
) -> dict[str, Any]:
    """The record with its frequencies: the population items (``items``: label, samples),
    then the whole scope's item **last** (the older GDI portal keeps a result set's last
    item), labelled by the population filters when they narrowed it (decision record 0018).
    Items whose exact counts would let a small count be recovered by subtraction are left out
    (``release``, decision record 0022); a record may then have no frequencies at all."""

    def counts_in(members: BitMap) -> AlleleCounts:
        return counter.counts(allele, members)

    frequencies = []
    if items and release.groups_shown(counts_in):
        for label, members in items:
            group_counts = counts_in(members)
            if group_counts.allele_number:
                frequencies.append(population_frequency(label, group_counts, context.policy))
    if release.main_shown(counts_in):
        label = context.population or context.dataset_label
        frequencies.append(population_frequency(label, counts_in(scope), context.policy))
    source, reference, version = context.source
    populations = {
        "source": source,
        "sourceReference": reference,
        "version": version,
        "frequencies": frequencies,
    }
    return g_variant_document(allele, [populations] if frequencies else [])
