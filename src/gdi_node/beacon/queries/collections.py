"""Beacon v2 collections and filtering terms, as answerers of the privacy gate
(gdi_node.beacon.queries.gate): ``/datasets`` and ``/cohorts`` (framework
``beaconCollectionsResponse``) and ``/filtering_terms`` (framework
``beaconFilteringTermsResponse``), also narrowed to one dataset or one cohort.

Datasets are the node's own declarations (their stored dataset record, if any, over the
declared name and description), with handovers to their files for callers who may fetch them.
Permits and the budget are the gate's; a "not found" is raised after the budget was spent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyroaring import BitMap

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.entry_index import CUSTOM_FIELDS, FIELD_LABELS
from gdi_node.beacon.framework.filters import term_scopes
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity
from gdi_node.beacon.framework.responses import collection_response, response_meta, withheld_info
from gdi_node.beacon.model.ontology import Ontologies
from gdi_node.beacon.queries.entry_answers import Selection, select_entries
from gdi_node.beacon.queries.gate import Answered, Answerer, Decided, Reading
from gdi_node.beacon.queries.population_filters import POPULATION_TERMS
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.beacon.queries.small_scopes import SmallScopes
from gdi_node.beacon.store.entry_rows import EntryRepository, IndexSummary
from gdi_node.beacon.store.handovers import dataset_handovers, withheld_files
from gdi_node.config.settings import Settings
from gdi_node.config.trust import Disclosure
from gdi_node.db.consent import Withheld
from gdi_node.errors import NotFoundError
from gdi_node.passport.permits import Permit

_CUSTOM_PREFIXES = {name for names in CUSTOM_FIELDS.values() for name in names}
DATASETS = framework.BY_PATH["datasets"]
COHORTS = framework.BY_PATH["cohorts"]


class CollectionQueries:
    def __init__(
        self, settings: Settings, small_scopes: SmallScopes, ontologies: Callable[[], Ontologies]
    ) -> None:
        """``settings``: the declared datasets, the Beacon id and the public URL (handovers)."""
        self._settings = settings
        self._small_scopes = small_scopes
        self._ontologies = ontologies

    def _collection(
        self, decided: Decided, entry: framework.EntryType, documents: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A collection page; its documents are the collection records (record granularity)."""
        meta = response_meta(decided.beacon_id, decided.request, entry, Granularity.RECORD)
        return collection_response(meta, decided.request, documents)

    # -- datasets ---------------------------------------------------------------------------

    def datasets(self) -> Answerer:
        """``/datasets`` and ``/datasets/{id}`` (the gate's ``only``): the datasets the caller
        may know of that pass the filters, and handovers to the files of those it may fetch."""

        def answer(reading: Reading, decided: Decided) -> Answered:
            session, scopes, matched = reading.session, reading.scopes, reading.matched
            repo = EntryRepository(session)
            stored = {r.dataset_id: r for r in repo.entries("dataset", decided.dataset_ids)}
            records = dict(zip(stored, repo.documents(list(stored.values())), strict=True))
            documents, handovers = [], []
            excluded: Withheld | None = None
            public_url = self._settings.public_url
            for dataset_id, permit in decided.permits.items():
                ref = stored.get(dataset_id)
                if matched and (ref is None or not all(m.passes(ref) for m in matched)):
                    continue
                documents.append(self._dataset_document(dataset_id, records.get(dataset_id)))
                if permit.allows(Disclosure.FILE):
                    if excluded is None:
                        excluded = withheld_files(session, scopes.opted_out)
                    handovers += dataset_handovers(session, public_url, dataset_id, excluded)

            def response() -> dict[str, Any]:
                shaped = self._collection(decided, DATASETS, documents)
                if handovers:
                    shaped["beaconHandovers"] = handovers
                return shaped

            return Answered(0, response)

        return answer

    def _dataset_document(self, dataset_id: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        declared = next(d for d in self._settings.datasets if d.id == dataset_id)
        info = dict((stored or {}).get("info") or {})
        info["securityLevel"] = declared.security_level.value
        if stored is not None and stored.get("id") != declared.public_id:
            info["recordId"] = stored.get("id")
        return {
            **(stored or {}),
            "id": declared.public_id,  # as its result sets and its catalogue record (0026)
            "name": (stored or {}).get("name") or declared.name,
            "description": (stored or {}).get("description")
            or declared.description
            or declared.name,
            "info": info,
        }

    # -- cohorts ----------------------------------------------------------------------------

    def cohorts(self, only_id: str | None = None) -> Answerer:
        """``/cohorts`` and ``/cohorts/{id}``: cohort records passing the filters."""

        def answer(reading: Reading, decided: Decided) -> Answered:
            repo = EntryRepository(reading.session)
            selection = Selection("cohorts", only_id=only_id)
            refs = []
            for dataset_id in decided.dataset_ids:
                refs += select_entries(repo, reading.scopes, selection, dataset_id)
            refs = [r for r in refs if all(m.passes(r) for m in reading.matched)]
            documents = repo.documents(refs)

            def response() -> dict[str, Any]:
                if only_id is not None and not documents:
                    raise NotFoundError(f"no cohort {only_id!r} the caller may know of")
                return self._collection(decided, COHORTS, documents)

            return Answered(0, response)

        return answer

    # -- filtering terms --------------------------------------------------------------------

    def filtering_terms(
        self, *, entry_type: str | None = None, cohort_id: str | None = None
    ) -> Answerer:
        """Terms and fields present in the records of the datasets the caller may know of
        (the gate's ``only``: of one dataset; ``cohort_id``: in the records of that cohort's
        members; ``entry_type``: only terms of that entry type)."""

        def answer(reading: Reading, decided: Decided) -> Answered:
            repo = EntryRepository(reading.session)
            permits = decided.permits
            known = cohort_id is None or _cohort_known(repo, reading.scopes, cohort_id, permits)
            withheld = frozenset[str]()
            if known and cohort_id is not None:  # the terms of a few members are theirs
                withheld = self._small_cohort(reading.scopes, cohort_id, permits)
            answered = [d for d in permits if d not in withheld]
            summary = repo.summary(answered, cohort=cohort_id) if known else None

            def response() -> dict[str, Any]:
                if summary is None:
                    raise NotFoundError(f"no cohort {cohort_id!r} the caller may know of")
                named = frozenset(decided.public_id(d) for d in withheld)
                return self._terms_response(decided.request, summary, entry_type, named)

            return Answered(0, response)

        return answer

    def _terms_response(
        self,
        request: BeaconRequest,
        summary: IndexSummary,
        entry_type: str | None,
        withheld: frozenset[str],
    ) -> dict[str, Any]:
        ontologies = self._ontologies()
        terms: list[dict[str, Any]] = []
        resources = {}
        for term, scopes in sorted(summary.terms.items()):
            if entry_type is not None and entry_type not in scopes:
                continue
            resource = ontologies.resource_of(term)
            item: dict[str, Any] = {"id": term, "scopes": term_scopes(scopes)}
            if resource is not None:
                item["type"] = resource.name
                resources[resource.id] = resource.document()
                label = ontologies.label(term)
                if label:
                    item["label"] = label
            elif term.split(":", 1)[0] in _CUSTOM_PREFIXES:
                item["type"] = "custom"
            else:
                item["type"] = "ontologyTerm"
            terms.append(item)
        for field_id, kind in sorted(summary.fields.items()):
            scopes = summary.field_scopes[field_id]
            if entry_type is not None and entry_type not in scopes:
                continue
            item = {"id": field_id, "type": "alphanumeric", "scopes": term_scopes(scopes)}
            item["label"] = FIELD_LABELS.get(field_id, f"{field_id} ({kind})")
            terms.append(item)
        if entry_type is None:  # g_variants' population filters (decision record 0018)
            terms += [dict(term) for term in POPULATION_TERMS]
        page = terms[request.skip * request.limit : (request.skip + 1) * request.limit]
        response: dict[str, Any] = {
            "meta": framework.informational_meta(self._settings),
            "response": {"filteringTerms": page, "resources": list(resources.values())},
        }
        if withheld:
            response["info"] = withheld_info(dict.fromkeys(withheld, self._small_scopes.reason))
        return response

    def _small_cohort(
        self, scopes: Scopes, cohort_id: str, permits: Mapping[str, Permit]
    ) -> frozenset[str]:
        """The datasets where the cohort (its members with a sample) is a scope too small to
        list the terms of below record permission (gdi_node.beacon.queries.small_scopes)."""
        members = scopes.groups.get(("cohort", cohort_id), BitMap())
        return self._small_scopes.withheld(
            permits,
            people=lambda d: scopes.people_in(d, members & scopes.datasets.get(d, BitMap())),
            universe=lambda d: scopes.people.get(d, 0),
        )


def _cohort_known(
    repo: EntryRepository, scopes: Scopes, cohort_id: str, permits: Mapping[str, Permit]
) -> bool:
    """A cohort record, or a sample-sheet cohort with members, in the datasets."""
    if repo.by_id("cohort", cohort_id, list(permits)):
        return True
    members = scopes.groups.get(("cohort", cohort_id), BitMap())
    return any(not members.isdisjoint(scopes.datasets.get(d, BitMap())) for d in permits)
