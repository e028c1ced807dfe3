"""Beacon v2 metadata entry types: individuals, biosamples, runs and analyses (result sets per
dataset) and cohorts (a collection), with the default model's cross-entry paths
(``/individuals/{id}/biosamples``, ``/g_variants/{id}/individuals``, …) and filters.

Each dataset is answered at ``min(requested granularity, its permit)``. These entries are
people and their samples, so their counts follow the small-count policy like allele counts
(imprecise below the threshold unless the caller holds a grant), and records need a permit
that allows records. Everyone who opted out of research use is left out, with everything
linked to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap
from sqlalchemy.orm import Session

from gdi_node.beacon.framework.documents import METADATA_TYPES
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity
from gdi_node.beacon.framework.responses import DatasetAnswer
from gdi_node.beacon.model.precision import AT_LEAST_ONE, Reported
from gdi_node.beacon.queries.filter_match import Matched
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.beacon.store.entry_rows import EntryRef, EntryRepository

# samples a path restricts g_variants to, per dataset (/individuals/{id}/g_variants, …)
Within = Callable[[Session, Scopes, list[str]], dict[str, BitMap]]
# path of an entry type -> the entry type stored in beacon_entries (datasets are the node's own)
STORED_TYPES = {entry.path: entry.id for entry in METADATA_TYPES if entry.id != "dataset"}
# (from path, to path) -> the link column of the target entries that holds the source id: the
# related metadata paths of each entry type that others link to (``linked_by``)
LINKS = {
    (entry.path, related): entry.link_column
    for entry in METADATA_TYPES
    if entry.link_column is not None
    for related in entry.related
    if related in STORED_TYPES
}


@dataclass(frozen=True)
class Selection:
    """Which entries a query asks for, before permits: their type, an optional link to one
    source entry or a set of carriers, and the filters' matches."""

    path: str
    linked: tuple[str, str] | None = None
    # dataset -> ids of the entries of ``path`` to keep (carriers of an allele, cohort members)
    carriers: dict[str, set[str]] | None = None
    matched: tuple[Matched, ...] = ()
    only_id: str | None = None


def consenting(refs: list[EntryRef], scopes: Scopes) -> list[EntryRef]:
    """Records of people who did not opt out: neither their individual id nor, for a run or
    analysis that names only a biosample or run, the record it hangs from is theirs."""
    if not scopes.opted_out:
        return refs
    return [
        r
        for r in refs
        if r.individual_id not in scopes.opted_out and r.entry_id not in scopes.opted_out_records
    ]


def select_entries(
    repo: EntryRepository, scopes: Scopes, selection: Selection, dataset_id: str
) -> list[EntryRef]:
    """The entries of one dataset a selection finds (opted-out people removed)."""
    stored = STORED_TYPES[selection.path]
    if selection.only_id is not None:
        refs = repo.by_id(stored, selection.only_id, [dataset_id])
    else:
        refs = repo.entries(stored, [dataset_id], linked=selection.linked)
    refs = consenting(refs, scopes)
    if selection.carriers is not None:
        held = selection.carriers.get(dataset_id, set())
        refs = [r for r in refs if r.entry_id in held]
    for matched in selection.matched:
        refs = [r for r in refs if matched.passes(r)]
    return refs


def individuals_passing(
    repo: EntryRepository, scopes: Scopes, matched: tuple[Matched, ...], dataset_id: str
) -> set[str]:
    """Ids of the dataset's consenting individuals that pass every filter."""
    refs = consenting(repo.entries("individual", [dataset_id]), scopes)
    return {r.entry_id for r in refs if all(m.passes(r) for m in matched)}


def carriers_of(scopes: Scopes, held: BitMap, dataset_id: str) -> set[str]:
    """Individual ids of the dataset's consenting samples in ``held``."""
    out = set()
    for sample_no in held - scopes.excluded:
        owner = scopes.owners.get(sample_no)
        if owner is not None and owner[0] == dataset_id:
            out.add(owner[1])
    return out


@dataclass(frozen=True)
class EntryAnswerContext:
    dataset_id: str
    level: Granularity
    report: Callable[[int], Reported]


def answer_entries(
    repo: EntryRepository,
    selected: dict[str, list[EntryRef]],
    contexts: list[EntryAnswerContext],
    request: BeaconRequest,
) -> list[DatasetAnswer]:
    """Each dataset's answer from its ``selected`` records (select_entries)."""
    answers = []
    for context in contexts:
        refs = selected[context.dataset_id]
        page: list[dict[str, Any]] = []
        if context.level is Granularity.RECORD and refs:
            first = request.skip * request.limit
            page = repo.documents(refs[first : first + request.limit])
        count = context.report(len(refs))
        if context.level is Granularity.BOOLEAN and refs:
            count = AT_LEAST_ONE
        answers.append(DatasetAnswer(context.dataset_id, context.level, count, page))
    return answers


def samples_of(path: str, entry_id: str) -> Within:
    """The consenting samples of one individual, biosample, run or analysis, per dataset
    (runs and analyses through their biosample): what ``/{path}/{id}/g_variants`` counts."""

    def within(session: Session, scopes: Scopes, dataset_ids: list[str]) -> dict[str, BitMap]:
        repo = EntryRepository(session)
        refs = consenting(repo.by_id(STORED_TYPES[path], entry_id, dataset_ids), scopes)
        out: dict[str, BitMap] = {}
        for ref in refs:
            held = out.setdefault(ref.dataset_id, BitMap())
            if path == "individuals":
                held |= scopes.samples_of_individuals(ref.dataset_id, {ref.entry_id})
                continue
            biosamples = (ref.biosample_id, ref.entry_id)  # a run's or an analysis's, or its own
            for sample_no, (dataset, _, biosample) in scopes.owners.items():
                if dataset == ref.dataset_id and biosample in biosamples:
                    held.add(sample_no)
            held -= scopes.excluded
        return out

    return within
