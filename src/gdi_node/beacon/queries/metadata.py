"""Beacon v2 queries over the metadata records: the entry types individuals, biosamples, runs,
analyses (result sets), cohorts (a collection), the cross-entry paths of the default model,
``/filtering_terms`` (framework ``beaconFilteringTermsResponse``) and handovers.

Permits, granularity, the small-count policy and the query budget are the BeaconService's; this
class only decides which records answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyroaring import BitMap
from sqlalchemy.orm import Session

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.entry_index import CUSTOM_FIELDS, FIELD_LABELS
from gdi_node.beacon.framework.requests import BeaconRequest
from gdi_node.beacon.framework.responses import response_meta, shape_g_variants, withheld_info
from gdi_node.beacon.model.carriers import from_bytes
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.entry_answers import (
    LINKS,
    EntryAnswerContext,
    Selection,
    answer_entries,
    carriers_of,
    select_entries,
)
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.beacon.queries.small_scopes import people_of
from gdi_node.beacon.store.entry_rows import EntryRef, EntryRepository
from gdi_node.beacon.store.handovers import dataset_handovers, entry_handovers, withheld_files
from gdi_node.beacon.store.variant_rows import VariantRepository
from gdi_node.db.consent import Withheld
from gdi_node.errors import NotFoundError
from gdi_node.passport.authorizer import RequestFacts
from gdi_node.passport.config import Audience, Disclosure
from gdi_node.passport.permits import Permit
from gdi_node.passport.principal import Principal

if TYPE_CHECKING:
    from gdi_node.beacon.queries.service import BeaconService


_CUSTOM_PREFIXES = {name for names in CUSTOM_FIELDS.values() for name in names}


class MetadataQueries:
    def __init__(self, beacon: BeaconService, public_url: str) -> None:
        self._beacon = beacon
        self._public_url = public_url

    # -- entries -----------------------------------------------------------------------------

    def entries(
        self,
        path: str,
        request: BeaconRequest,
        principal: Principal,
        facts: RequestFacts,
        *,
        only_id: str | None = None,
        source: tuple[str, str] | None = None,
        dataset_id: str | None = None,
    ) -> dict[str, Any]:
        """``/{path}``, ``/{path}/{id}``, ``/{source path}/{id}/{path}`` or
        ``/datasets/{id}/{path}``."""
        framework.check_requested_schemas(framework.BY_PATH[path], request.requested_schemas)
        beacon = self._beacon
        described = f"{path} {only_id or ''} {source or ''}".strip()
        permits = beacon.permits(principal, facts, described, only=dataset_id)
        granularity = beacon.settled_granularity(request, permits)
        budget_key = beacon.budget_key(principal, facts)
        beacon.budget.check(budget_key)
        with beacon.sessions() as session:
            scopes = beacon.scopes_of(session)
            ids = list(permits)
            matched = beacon.filter_matches(session, scopes, request, ids)
            selection = Selection(path, only_id=only_id, matched=matched)
            if source is not None:
                selection = self._linked(session, scopes, selection, source, ids)
            contexts = [
                EntryAnswerContext(d, beacon.level(granularity, p), beacon.policy_for(p).report)
                for d, p in permits.items()
            ]
            repo = EntryRepository(session)
            selected = {d: select_entries(repo, scopes, selection, d) for d in ids}
            withheld = self._small_scopes(
                repo, scopes, selection, selected, source=source, permits=permits
            )
            answers = answer_entries(repo, selected, contexts, request)
            answers = beacon.small_scopes.withhold(answers, withheld)
            handovers = self._handovers(session, scopes, path, answers, permits)
        rare = beacon.budget.config.rare_carriers
        # a small exact count singles out a few people: charged like a rare allele (not for
        # datasets the caller holds a grant for, as with alleles)
        small = sum(
            1
            for a in answers
            if a.exists
            and a.count.precision == "exact"
            and a.count.value <= rare
            and permits[a.dataset_id].audience is not Audience.CONTROLLED
        )
        beacon.budget.spend(
            budget_key, beacon.budget.config.base_cost + small * beacon.budget.config.rare_cost
        )
        if only_id is not None and not any(a.exists for a in answers):  # spent: not a free probe
            message = f"no {framework.BY_PATH[path].id} {only_id!r} the caller may know of"
            if withheld:
                message += f" ({', '.join(sorted(withheld))}: {beacon.small_scopes.reason})"
            raise NotFoundError(message)
        meta = response_meta(beacon.beacon_id, request, framework.BY_PATH[path], granularity)
        response = shape_g_variants(meta, request, granularity, answers)
        for result_set in response.get("response", {}).get("resultSets", []):
            found = handovers.get(result_set["id"])
            if found:
                result_set["resultsHandovers"] = found
        return response

    def _linked(
        self,
        session: Session,
        scopes: Scopes,
        selection: Selection,
        source: tuple[str, str],
        dataset_ids: list[str],
    ) -> Selection:
        source_path, source_id = source
        if source_path == "g_variants":
            key = AlleleKey.parse(source_id)
            if key is None:
                raise NotFoundError(f"no variant {source_id!r}")
            carriers = self._carriers(session, scopes, key, dataset_ids, selection.path)
            return Selection(selection.path, carriers=carriers, matched=selection.matched)
        if source_path == "cohorts":
            members = scopes.groups.get(("cohort", source_id), BitMap())
            held = {d: carriers_of(scopes, members, d) for d in dataset_ids}
            return Selection(selection.path, carriers=held, matched=selection.matched)
        column = LINKS[(source_path, selection.path)]
        return Selection(selection.path, linked=(column, source_id), matched=selection.matched)

    def _small_scopes(
        self,
        repo: EntryRepository,
        scopes: Scopes,
        selection: Selection,
        selected: dict[str, list[EntryRef]],
        *,
        source: tuple[str, str] | None,
        permits: dict[str, Permit],
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

        return self._beacon.small_scopes.withheld(permits, people, universe)

    def _carriers(
        self, session: Session, scopes: Scopes, key: AlleleKey, dataset_ids: list[str], path: str
    ) -> dict[str, set[str]]:
        """Per dataset, the ids of the ``path`` entries carrying the allele: the individuals
        of the consenting samples that hold it, or for ``biosamples`` those samples' own
        biosamples (not every biosample of a carrier: another sample of the same person
        may not hold it, or may not have been sequenced). Read again from fresh scopes when
        the generation moved meanwhile (gdi_node.beacon.queries.variant_answers, decision 0014)."""
        while True:
            repo = VariantRepository(session, scopes.max_span, hidden=scopes.hidden)
            rows = repo.by_allele(key, dataset_ids)
            if repo.generation() == scopes.generation:
                break
            scopes = self._beacon.scopes_of(session)
        which = 2 if path == "biosamples" else 1  # owner = (dataset, individual, biosample)
        out: dict[str, set[str]] = {d: set() for d in dataset_ids}
        for row in rows:
            held = from_bytes(row.one_copy) | from_bytes(row.two_copies)
            for sample_no in held - scopes.excluded:
                owner = scopes.owners.get(sample_no)
                if owner is not None:
                    out.setdefault(owner[0], set()).add(owner[which])
        return out

    def _handovers(
        self,
        session: Session,
        scopes: Scopes,
        path: str,
        answers: list[Any],
        permits: dict[str, Any],
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

    # -- datasets (a collection) -----------------------------------------------------------

    def datasets(
        self, request: BeaconRequest, principal: Principal, facts: RequestFacts
    ) -> dict[str, Any]:
        beacon = self._beacon
        permits = beacon.permits(principal, facts, "datasets")
        return self._dataset_collection(request, permits)

    def dataset(
        self, dataset_id: str, request: BeaconRequest, principal: Principal, facts: RequestFacts
    ) -> dict[str, Any]:
        beacon = self._beacon
        permits = beacon.permits(principal, facts, f"datasets/{dataset_id}", only=dataset_id)
        return self._dataset_collection(request, permits)

    def _dataset_collection(
        self, request: BeaconRequest, permits: dict[str, Permit]
    ) -> dict[str, Any]:
        """The datasets (their stored dataset record, if any, over the declared name and
        description) and, for callers who may fetch files, handovers to their files."""
        framework.check_requested_schemas(framework.BY_PATH["datasets"], request.requested_schemas)
        beacon = self._beacon
        with beacon.sessions() as session:
            scopes = beacon.scopes_of(session)
            matched = beacon.filter_matches(session, scopes, request, list(permits))
            repo = EntryRepository(session)
            stored = {r.dataset_id: r for r in repo.entries("dataset", list(permits))}
            records = dict(zip(stored, repo.documents(list(stored.values())), strict=True))
            documents, handovers = [], []
            excluded: Withheld | None = None
            for dataset_id, permit in permits.items():
                ref = stored.get(dataset_id)
                if matched and (ref is None or not all(m.passes(ref) for m in matched)):
                    continue
                documents.append(self._dataset_document(dataset_id, records.get(dataset_id)))
                if permit.allows(Disclosure.FILE):
                    if excluded is None:
                        excluded = withheld_files(session, scopes.opted_out)
                    handovers += dataset_handovers(session, self._public_url, dataset_id, excluded)
        response = beacon.collections(request, documents, framework.BY_PATH["datasets"])
        if handovers:
            response["beaconHandovers"] = handovers
        return response

    def _dataset_document(self, dataset_id: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        declared = next(d for d in self._beacon.settings.datasets if d.id == dataset_id)
        info = dict((stored or {}).get("info") or {})
        info["securityLevel"] = declared.security_level.value
        if stored is not None and stored.get("id") != declared.id:
            info["recordId"] = stored.get("id")
        return {
            **(stored or {}),
            "id": declared.id,
            "name": (stored or {}).get("name") or declared.name,
            "description": (stored or {}).get("description")
            or declared.description
            or declared.name,
            "info": info,
        }

    # -- cohorts (a collection) ---------------------------------------------------------------

    def cohorts(
        self,
        request: BeaconRequest,
        principal: Principal,
        facts: RequestFacts,
        *,
        only_id: str | None = None,
    ) -> dict[str, Any]:
        framework.check_requested_schemas(framework.BY_PATH["cohorts"], request.requested_schemas)
        beacon = self._beacon
        permits = beacon.permits(principal, facts, f"cohorts {only_id or ''}".strip())
        with beacon.sessions() as session:
            scopes = beacon.scopes_of(session)
            repo = EntryRepository(session)
            refs = []
            for dataset_id in permits:
                refs += select_entries(
                    repo, scopes, Selection("cohorts", only_id=only_id), dataset_id
                )
            matched = beacon.filter_matches(session, scopes, request, list(permits))
            refs = [r for r in refs if all(m.passes(r) for m in matched)]
            documents = repo.documents(refs)
        if only_id is not None and not documents:
            raise NotFoundError(f"no cohort {only_id!r} the caller may know of")
        return beacon.collections(request, documents, framework.BY_PATH["cohorts"])

    def _cohort_known(
        self, session: Session, repo: EntryRepository, cohort_id: str, permits: dict[str, Permit]
    ) -> bool:
        """A cohort record, or a sample-sheet cohort with members, in the datasets."""
        if repo.by_id("cohort", cohort_id, list(permits)):
            return True
        scopes = self._beacon.scopes_of(session)
        members = scopes.groups.get(("cohort", cohort_id), BitMap())
        return any(not members.isdisjoint(scopes.datasets.get(d, BitMap())) for d in permits)

    # -- filtering terms ----------------------------------------------------------------------

    def filtering_terms(
        self,
        request: BeaconRequest,
        principal: Principal,
        facts: RequestFacts,
        *,
        dataset_id: str | None = None,
        entry_type: str | None = None,
        cohort_id: str | None = None,
    ) -> dict[str, Any]:
        """Terms and fields present in the records of the datasets the caller may know of
        (``cohort_id``: in the records of that cohort's members)."""
        beacon = self._beacon
        described = f"filtering_terms {cohort_id or ''}".strip()
        permits = beacon.permits(principal, facts, described, only=dataset_id)
        ontologies = beacon.ontologies
        with beacon.sessions() as session:
            repo = EntryRepository(session)
            known = cohort_id is None or self._cohort_known(session, repo, cohort_id, permits)
            if not known:
                raise NotFoundError(f"no cohort {cohort_id!r} the caller may know of")
            withheld = frozenset[str]()
            if cohort_id is not None:  # the terms of a few members are theirs
                withheld = self._small_cohort(session, cohort_id, permits)
            answered = [d for d in permits if d not in withheld]
            summary = repo.summary(answered, cohort=cohort_id)
        terms: list[dict[str, Any]] = []
        resources = {}
        for term, scopes in sorted(summary.terms.items()):
            if entry_type is not None and entry_type not in scopes:
                continue
            resource = ontologies.resource_of(term)
            item: dict[str, Any] = {"id": term, "scopes": sorted(scopes)}
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
            item = {"id": field_id, "type": "alphanumeric", "scopes": sorted(scopes)}
            item["label"] = FIELD_LABELS.get(field_id, f"{field_id} ({kind})")
            terms.append(item)
        page = terms[request.skip * request.limit : (request.skip + 1) * request.limit]
        response: dict[str, Any] = {
            "meta": framework.informational_meta(beacon.settings),
            "response": {"filteringTerms": page, "resources": list(resources.values())},
        }
        if withheld:
            response["info"] = withheld_info(dict.fromkeys(withheld, beacon.small_scopes.reason))
        return response

    def _small_cohort(
        self, session: Session, cohort_id: str, permits: dict[str, Permit]
    ) -> frozenset[str]:
        """The datasets where the cohort (its members with a sample) is a scope too small to
        list the terms of below record permission (gdi_node.beacon.queries.small_scopes)."""
        scopes = self._beacon.scopes_of(session)
        members = scopes.groups.get(("cohort", cohort_id), BitMap())
        return self._beacon.small_scopes.withheld(
            permits,
            people=lambda d: scopes.people_in(d, members & scopes.datasets.get(d, BitMap())),
            universe=lambda d: scopes.people.get(d, 0),
        )
