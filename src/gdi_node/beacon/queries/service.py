"""The Beacon's use cases: one method per kind of Beacon v2 operation.

Informational documents (``/info``, ``/configuration``, ``/map``, ``/entry_types``,
``/service-info``) describe the node and disclose nothing about its data. Every other
operation checks its request, then passes the privacy gate (gdi_node.beacon.queries.gate:
permits, granularity, budget, audit) with the answerer that reads its data:

- ``g_variants`` (gdi_node.beacon.queries.variant_answers), also below a dataset, an allele
  id or an individual, biosample, run or analysis; without variant parameters, whether each
  dataset holds any variant (gdi_node.beacon.queries.variant_presence);
- entries: individuals, biosamples, runs, analyses and their cross-entry paths
  (gdi_node.beacon.queries.metadata);
- collections and filtering terms (gdi_node.beacon.queries.collections).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity, VariantQuery
from gdi_node.beacon.model.ontology import Ontologies, load_cached, ontology_files
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.collections import COHORTS, DATASETS, CollectionQueries
from gdi_node.beacon.queries.entry_answers import samples_of
from gdi_node.beacon.queries.federated import FederatedAnswers, ForwardedCall
from gdi_node.beacon.queries.filter_match import FilterIndexCache
from gdi_node.beacon.queries.gate import Answerer, Caller, Operation, PrivacyGate
from gdi_node.beacon.queries.metadata import EntryQueries
from gdi_node.beacon.queries.small_scopes import SmallScopes
from gdi_node.beacon.queries.variant_answers import G_VARIANT, VariantAnswers
from gdi_node.beacon.queries.variant_presence import VariantPresence
from gdi_node.beacon.store.budget import QueryBudget
from gdi_node.config.settings import Settings
from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.passport.authorizer import Authorizer
from gdi_node.resources import shipped_dir
from gdi_node.service_info import service_info

BASE_PATH = "/ga4gh/beacon/v2"


class BeaconService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        authorizer: Authorizer,
        *,
        base_url: str,
        started_at: Callable[[], str],
        read_sessions: sessionmaker[Session] | None = None,
        federated: FederatedAnswers | None = None,
    ) -> None:
        """``sessions`` write (the query budget); ``read_sessions`` (default: ``sessions``)
        answer queries, which only read (gdi_node.db.engine.make_read_session_factory);
        ``federated``: on a hub, asks the members too (gdi_node.beacon.queries.federated)."""
        self._federated = federated
        self._settings = settings
        self._base_url = base_url
        self._started_at = started_at
        filter_index = FilterIndexCache(self._load_ontologies)
        self._gate = PrivacyGate(
            settings,
            authorizer,
            budget=QueryBudget(sessions, settings.beacon.budget),
            read_sessions=read_sessions or sessions,
            filter_index=filter_index,
            beacon_id=framework.beacon_id(settings),
        )
        small_scopes = SmallScopes(settings.beacon.small_count_threshold)
        sources = {d.id: (d.name, f"{base_url}/datasets/{d.public_id}") for d in settings.datasets}
        labels = {d.id: d.population_label for d in settings.datasets}
        extra_groups = settings.beacon.frequencies.extra_groups
        self._variants = VariantAnswers(small_scopes, sources, labels, extra_groups=extra_groups)
        self._presence = VariantPresence(small_scopes, labels)
        self._entries = EntryQueries(small_scopes, settings.public_url)
        self._collections = CollectionQueries(
            settings, small_scopes, lambda: filter_index.ontologies
        )

    def _load_ontologies(self) -> Ontologies:
        shipped = shipped_dir("beacon") / "ontologies"
        return load_cached(ontology_files(shipped, self._settings.beacon.ontology_files))

    # -- informational: nothing about the data ------------------------------------------------

    def info(self) -> dict[str, Any]:
        """``/info``; a hub's lists its members' Beacons (``response.info.members``)."""
        document = framework.info_response(self._settings, self._base_url, self._started_at())
        if self._federated is not None:
            document["response"]["info"]["members"] = self._federated.member_beacons()
        return document

    def service_info(self) -> dict[str, Any]:
        return service_info(
            self._settings,
            suffix="beacon",
            name="Beacon",
            artifact="beacon",
            version="2.1.1",
            description="Beacon v2 discovery and the national allele-frequency database",
            started_at=self._started_at(),
        )

    def configuration(self) -> dict[str, Any]:
        levels = {d.security_level.value for d in self._settings.datasets}
        if self._federated is not None:  # a hub serves its members' datasets too
            levels |= self._federated.member_security_levels()
        return framework.configuration_response(self._settings, sorted(levels))

    def map(self) -> dict[str, Any]:
        return framework.map_response(self._settings, self._base_url)

    def entry_types(self) -> dict[str, Any]:
        return framework.entry_types_response(self._settings)

    # -- through the privacy gate ---------------------------------------------------------

    def g_variants(
        self,
        request: BeaconRequest,
        caller: Caller,
        *,
        dataset_id: str | None = None,
        variant_id: str | None = None,
        within: tuple[str, str] | None = None,
        forwarded: ForwardedCall | None = None,
    ) -> dict[str, Any]:
        """``/g_variants``, ``/g_variants/{id}`` (``variant_id``), ``/datasets/{id}/g_variants``
        (``dataset_id``) and ``/{path}/{id}/g_variants`` (``within``: that entry's samples).
        On a hub, ``/g_variants`` (``forwarded``: the call as members get it) is answered by
        the members too."""
        framework.check_requested_schemas(G_VARIANT, request.requested_schemas)
        key = AlleleKey.parse(variant_id) if variant_id is not None else None
        if variant_id is not None and key is None:
            raise NotFoundError(f"no variant {variant_id!r}; ids look like GRCh38:22:10516173:A:G")
        if key is None and request.variant.kind() == "none":
            if within is not None:
                raise InvalidInputError(
                    "g_variants below an entry needs a variant query: a position"
                    " (referenceName, start, end or alternateBases), geneId, aminoacidChange"
                    " or genomicAlleleShortForm"
                )
            return self._variant_presence(request, caller, dataset_id, forwarded)
        described = f"g_variants {variant_id or _describe(request.variant)}"
        if within is not None:
            described = f"{within[0]}/{within[1]}/{described}"
        # the database may count from the scopes a worker built last (see variant_answers)
        operation = Operation(
            request, described, only=dataset_id, speculative=True, populations=True
        )
        paths = samples_of(*within) if within is not None else None
        answerer = self._variants.answerer(key, paths)
        federate = key is None and within is None
        return self._answer(caller, operation, answerer, forwarded if federate else None)

    def _answer(
        self,
        caller: Caller,
        operation: Operation,
        answerer: Answerer,
        forwarded: ForwardedCall | None,
        *,
        merge_records: bool = True,
    ) -> dict[str, Any]:
        """The gate's answer; on a hub, for a query about every dataset (``forwarded``, no
        dataset named), combined with the members' answers (decision record 0031)."""
        if self._federated is None or forwarded is None or operation.only is not None:
            return self._gate.answer(caller, operation, answerer)
        return self._federated.combine(
            self._asking(caller, operation, answerer),
            operation.request,
            caller,
            forwarded,
            merge_records=merge_records,
        )

    def _asking(
        self, caller: Caller, operation: Operation, answerer: Answerer
    ) -> Callable[[BeaconRequest], dict[str, Any]]:
        """The gate's answer to ``operation`` asked as another request (a hub asks its own
        datasets for every result set, or every term, before combining)."""
        return lambda asked: self._gate.answer(caller, replace(operation, request=asked), answerer)

    def _variant_presence(
        self,
        request: BeaconRequest,
        caller: Caller,
        dataset_id: str | None,
        forwarded: ForwardedCall | None,
    ) -> dict[str, Any]:
        """``/g_variants`` (or ``/datasets/{id}/g_variants``) without variant parameters, as
        the Beacon Verifier v2 and the Beacon Network send it: whether each dataset holds
        any variant, at boolean granularity (gdi_node.beacon.queries.variant_presence)."""
        operation = Operation(
            request,
            "g_variants (no variant parameters)",
            only=dataset_id,
            populations=True,
            ceiling=Granularity.BOOLEAN,
        )
        return self._answer(caller, operation, self._presence.answerer(), forwarded)

    def entries(
        self,
        path: str,
        request: BeaconRequest,
        caller: Caller,
        *,
        only_id: str | None = None,
        source: tuple[str, str] | None = None,
        dataset_id: str | None = None,
        forwarded: ForwardedCall | None = None,
    ) -> dict[str, Any]:
        """``/{path}``, ``/{path}/{id}``, ``/{source path}/{id}/{path}`` or
        ``/datasets/{id}/{path}`` for individuals, biosamples, runs and analyses. On a hub,
        ``/{path}`` (``forwarded``: the call as members get it) is answered by the members
        too, their records listed, not merged."""
        framework.check_requested_schemas(framework.BY_PATH[path], request.requested_schemas)
        described = f"{path} {only_id or ''} {source or ''}".strip()
        operation = Operation(request, described, only=dataset_id)
        answerer = self._entries.answerer(path, only_id=only_id, source=source)
        federate = only_id is None and source is None
        call = forwarded if federate else None
        return self._answer(caller, operation, answerer, call, merge_records=False)

    def datasets(
        self, request: BeaconRequest, caller: Caller, *, dataset_id: str | None = None
    ) -> dict[str, Any]:
        """``/datasets`` and ``/datasets/{id}``."""
        framework.check_requested_schemas(DATASETS, request.requested_schemas)
        described = "datasets" if dataset_id is None else f"datasets/{dataset_id}"
        operation = Operation(request, described, only=dataset_id)
        answerer = self._collections.datasets()
        if self._federated is not None and dataset_id is None:
            own = self._asking(caller, operation, answerer)
            return self._federated.listing("datasets", own, request)
        return self._gate.answer(caller, operation, answerer)

    def cohorts(
        self, request: BeaconRequest, caller: Caller, *, only_id: str | None = None
    ) -> dict[str, Any]:
        """``/cohorts`` and ``/cohorts/{id}``."""
        framework.check_requested_schemas(COHORTS, request.requested_schemas)
        operation = Operation(request, f"cohorts {only_id or ''}".strip())
        return self._gate.answer(caller, operation, self._collections.cohorts(only_id))

    def filtering_terms(
        self,
        request: BeaconRequest,
        caller: Caller,
        *,
        dataset_id: str | None = None,
        entry_type: str | None = None,
        cohort_id: str | None = None,
    ) -> dict[str, Any]:
        """``/filtering_terms``, of one entry type, one dataset or one cohort."""
        operation = Operation(
            request, f"filtering_terms {cohort_id or ''}".strip(), only=dataset_id
        )
        answerer = self._collections.filtering_terms(entry_type=entry_type, cohort_id=cohort_id)
        every = dataset_id is None and entry_type is None and cohort_id is None
        if self._federated is not None and every:
            own = self._asking(caller, operation, answerer)
            return self._federated.listing("filtering_terms", own, request)
        return self._gate.answer(caller, operation, answerer)


def _describe(query: VariantQuery) -> str:
    parts = [f"{k}={v}" for k, v in vars(query).items() if v not in (None, ())]
    return " ".join(parts)[:500]
