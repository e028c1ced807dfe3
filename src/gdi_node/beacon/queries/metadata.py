"""Beacon v2 queries over the metadata records, as answerers of the privacy gate
(gdi_node.beacon.queries.gate): the entry types individuals, biosamples, runs and analyses
(result sets per dataset) with the default model's cross-entry paths
(``/individuals/{id}/biosamples``, ``/g_variants/{id}/individuals``, …), filters and handovers.

Permits, granularity, the small-count policy and the query budget are the gate's; an answerer
only decides which records answer, from what the gate decided and read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyroaring import BitMap
from sqlalchemy.orm import Session

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.responses import shape_g_variants
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.entry_answers import (
    LINKS,
    EntryAnswerContext,
    Selection,
    answer_entries,
    carriers_of,
    select_entries,
)
from gdi_node.beacon.queries.gate import Answered, Answerer, Decided, Reading
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.beacon.queries.small_scopes import SmallScopes, people_of
from gdi_node.beacon.store.entry_rows import EntryRef, EntryRepository
from gdi_node.beacon.store.handovers import entry_handovers, withheld_files
from gdi_node.beacon.store.variant_rows import VariantRepository
from gdi_node.config.trust import Disclosure
from gdi_node.errors import NotFoundError
from gdi_node.passport.permits import Permit


class EntryQueries:
    def __init__(self, small_scopes: SmallScopes, public_url: str) -> None:
        """``public_url``: where the node is reached (handovers to files)."""
        self._small_scopes = small_scopes
        self._public_url = public_url

    def answerer(
        self, path: str, *, only_id: str | None = None, source: tuple[str, str] | None = None
    ) -> Answerer:
        """The gate's answerer of ``/{path}``, ``/{path}/{id}`` (``only_id``),
        ``/{source path}/{id}/{path}`` (``source``) or ``/datasets/{id}/{path}`` (the gate's
        ``only``). A small exact count singles out a few people: it is reported to the gate as
        a rare reveal, like a rare allele (not for datasets the caller holds a grant for)."""
        entry = framework.BY_PATH[path]

        def answer(reading: Reading, decided: Decided) -> Answered | None:
            session, scopes, ids = reading.session, reading.scopes, decided.dataset_ids
            selection = Selection(path, only_id=only_id, matched=reading.matched)
            if source is not None:
                linked = self._linked(session, scopes, selection, source, ids)
                if linked is None:
                    return None
                selection = linked
            contexts = [
                EntryAnswerContext(d, decided.level(d), decided.policy(d).report) for d in ids
            ]
            repo = EntryRepository(session)
            selected = {d: select_entries(repo, scopes, selection, d) for d in ids}
            withheld = self._withheld_scopes(
                repo, scopes, selection, selected, source=source, permits=decided.permits
            )
            answers = answer_entries(repo, selected, contexts, decided.request)
            answers = self._small_scopes.withhold(answers, withheld)
            handovers = self._handovers(session, scopes, path, answers, decided.permits)
            small = sum(
                1
                for a in answers
                if a.exists
                and a.count.precision == "exact"
                and a.count.value <= decided.rare_carriers_for(a.dataset_id)
            )

            def response() -> dict[str, Any]:
                if only_id is not None and not any(a.exists for a in answers):
                    message = f"no {entry.id} {only_id!r} the caller may know of"
                    if withheld:
                        message += f" ({', '.join(sorted(withheld))}: {self._small_scopes.reason})"
                    raise NotFoundError(message)
                request, granularity = decided.request, decided.granularity
                meta = decided.meta(entry)
                shaped = shape_g_variants(meta, request, granularity, answers, decided.public_id)
                named = {decided.public_id(d): found for d, found in handovers.items()}
                for result_set in shaped.get("response", {}).get("resultSets", []):
                    found = named.get(result_set["id"])
                    if found:
                        result_set["resultsHandovers"] = found
                return shaped

            return Answered(small, response)

        return answer

    def _linked(
        self,
        session: Session,
        scopes: Scopes,
        selection: Selection,
        source: tuple[str, str],
        dataset_ids: list[str],
    ) -> Selection | None:
        """The selection narrowed to what the source entry links to; None when the generation
        moved while an allele's carriers were read (the gate reads again)."""
        source_path, source_id = source
        if source_path == "g_variants":
            key = AlleleKey.parse(source_id)
            if key is None:
                raise NotFoundError(f"no variant {source_id!r}")
            carriers = self._carriers(session, scopes, key, dataset_ids, selection.path)
            if carriers is None:
                return None
            return Selection(selection.path, carriers=carriers, matched=selection.matched)
        if source_path == "cohorts":
            members = scopes.groups.get(("cohort", source_id), BitMap())
            held = {d: carriers_of(scopes, members, d) for d in dataset_ids}
            return Selection(selection.path, carriers=held, matched=selection.matched)
        column = LINKS[(source_path, selection.path)]
        return Selection(selection.path, linked=(column, source_id), matched=selection.matched)

    def _withheld_scopes(
        self,
        repo: EntryRepository,
        scopes: Scopes,
        selection: Selection,
        selected: dict[str, list[EntryRef]],
        *,
        source: tuple[str, str] | None,
        permits: Mapping[str, Permit],
    ) -> frozenset[str]:
        """The datasets whose narrowed scope is too small to answer below record permission
        (gdi_node.beacon.queries.small_scopes). The scope is what an id, a linked entry, a cohort or
        filters narrow the query to: the ``selected`` records themselves, except below
        ``/g_variants/{id}``, where the carriers are the answer and the filters the scope.
        Nothing is read when nothing narrows the query."""
        path = selection.path
        if source is not None and source[0] == "g_variants":
            if not selection.matched:
                return frozenset()
            narrowed = Selection(path, matched=selection.matched)

            def people(d: str) -> int:
                return people_of(select_entries(repo, scopes, narrowed, d))

        elif source is None and selection.only_id is None and not selection.matched:
            return frozenset()
        else:

            def people(d: str) -> int:
                return people_of(selected[d])

        def universe(d: str) -> int:
            return people_of(select_entries(repo, scopes, Selection(path), d))

        return self._small_scopes.withheld(permits, people, universe)

    @staticmethod
    def _carriers(
        session: Session, scopes: Scopes, key: AlleleKey, dataset_ids: list[str], path: str
    ) -> dict[str, set[str]] | None:
        """Per dataset, the ids of the ``path`` entries carrying the allele: the individuals
        of the consenting samples that hold it, or for ``biosamples`` those samples' own
        biosamples (not every biosample of a carrier: another sample of the same person
        may not hold it, or may not have been sequenced). None when the generation moved
        while the rows were read (gdi_node.beacon.queries.variant_answers, decision 0014)."""
        repo = VariantRepository(session, scopes.max_span)
        rows = repo.by_allele(key, dataset_ids)
        bits = repo.carrier_bits([int(row.id) for row in rows])
        held_by = {v: found.one_copy | found.two_copies for v, found in bits.items()}
        if repo.generation() != scopes.generation:
            return None
        which = 2 if path == "biosamples" else 1  # owner = (dataset, individual, biosample)
        out: dict[str, set[str]] = {d: set() for d in dataset_ids}
        for row in rows:
            held = held_by.get(int(row.id), BitMap()) & scopes.datasets.get(
                row.dataset_id, BitMap()
            )
            for bit in held - scopes.excluded:
                owner = scopes.owners.get(bit)
                if owner is not None:
                    out.setdefault(owner[0], set()).add(owner[which])
        return out

    def _handovers(
        self,
        session: Session,
        scopes: Scopes,
        path: str,
        answers: list[Any],
        permits: Mapping[str, Permit],
    ) -> dict[str, list[dict[str, Any]]]:
        """Per dataset, handovers to the files of the runs/analyses shown (file permits only)."""
        if path not in ("runs", "analyses"):
            return {}
        excluded = withheld_files(session, scopes.opted_out)
        out = {}
        for answer in answers:
            if not answer.results or not permits[answer.dataset_id].allows(Disclosure.FILE):
                continue
            ids = [str(r["id"]) for r in answer.results]
            found = entry_handovers(session, self._public_url, answer.dataset_id, ids, excluded)
            if found:
                out[answer.dataset_id] = found
        return out
