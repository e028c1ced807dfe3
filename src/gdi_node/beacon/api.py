"""HTTP handlers of ``openapi/beacon.yaml``: a Beacon request in, a Beacon v2 document out.

GET query strings are read as sent (``Incoming.args``), so both spellings the spec uses
(``geneId``/``geneid``, ``genomicAlleleShortForm``/``allele``) and comma-joined lists reach the
request parser (gdi_node.beacon.framework.requests) unchanged; connexion has validated them already.
The default model's operation names live only in the table of :func:`operations`; each handler
makes one call to the BeaconService (gdi_node.beacon.queries.service). :func:`mount` builds the
Beacon services from the app's runtime and hands the app that table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.requests import BeaconRequest, from_get, from_post
from gdi_node.beacon.queries.federated import FederatedAnswers, ForwardedCall, member_documents
from gdi_node.beacon.queries.gate import Caller
from gdi_node.beacon.queries.service import BASE_PATH, BeaconService
from gdi_node.db.engine import make_read_session_factory, make_session_factory
from gdi_node.errors import beacon_envelope
from gdi_node.passport.authorizer import Authorizer
from gdi_node.service_info import ServiceEntry, ServiceType
from gdi_node.web.mounts import ApiMount, Background, Handler
from gdi_node.web.request import incoming, passed_on, request_credentials, request_facts
from gdi_node.web.runtime import NodeRuntime

# Operations that describe the node and disclose nothing about its data: they do not pass the
# privacy gate (gdi_node.beacon.queries.gate). Every other operation does (a test checks it).
INFORMATIONAL = frozenset(
    {"getServiceInfo"} | {f"{m}{n}" for m in ("get", "post") for n in ("Root", "Info",
     "Configuration", "Map", "EntryTypes")}
)  # fmt: skip


def operations(service: BeaconService, authorizer: Authorizer) -> dict[str, Handler]:
    """The operationId -> handler table of the Beacon API."""

    def request_of(body: Any) -> BeaconRequest:
        request = incoming()
        if request.method == "POST":
            return from_post(body if isinstance(body, dict) else None)
        return from_get(request.args)

    def caller(operation: str, body: Any) -> Caller:
        """Who asks; a credential that cannot be accepted is ignored, the query answered as
        anonymous with a note (decision record 0028)."""
        facts = request_facts(f"beacon.{operation}")
        principal, ignored = authorizer.principal_or_anonymous(
            lambda: request_credentials(body), facts
        )
        return Caller(principal, facts, ignored_credential=ignored)

    def informational(build: Callable[[], dict[str, Any]]) -> Handler:
        def handler(body: Any = None, **_params: Any) -> dict[str, Any]:
            request_of(body)  # a malformed body is still a 400
            return build()

        return handler

    def forwarded(path: str, body: Any) -> ForwardedCall:
        """The call as a hub passes it on to its members (gdi_node.beacon.queries.federated)."""
        request = incoming()
        return ForwardedCall(request.method, path, tuple(request.args.items()), body, passed_on())

    def g_variants(body: Any = None, **_params: Any) -> dict[str, Any]:
        who = caller("g_variants", body)
        return service.g_variants(request_of(body), who, forwarded=forwarded("/g_variants", body))

    def one_g_variant(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.g_variants(request_of(body), caller("g_variant", body), variant_id=id)

    def datasets(body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.datasets(request_of(body), caller("datasets", body))

    def one_dataset(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.datasets(request_of(body), caller("dataset", body), dataset_id=id)

    def dataset_g_variants(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
        request = request_of(body)
        return service.g_variants(request, caller("dataset_g_variants", body), dataset_id=id)

    def entries(path: str) -> Handler:
        def handler(body: Any = None, **_params: Any) -> dict[str, Any]:
            who = caller(path, body)
            call = forwarded(f"/{path}", body)
            return service.entries(path, request_of(body), who, forwarded=call)

        return handler

    def one_entry(path: str) -> Handler:
        def handler(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
            return service.entries(path, request_of(body), caller(path, body), only_id=id)

        return handler

    def linked(source: str, path: str) -> Handler:
        def handler(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
            who = caller(f"{source}_{path}", body)
            if source == "datasets":
                return service.entries(path, request_of(body), who, dataset_id=id)
            return service.entries(path, request_of(body), who, source=(source, id))

        return handler

    def variants_of(path: str) -> Handler:
        def handler(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
            request = request_of(body)
            who = caller(f"{path}_g_variants", body)
            return service.g_variants(request, who, within=(path, id))

        return handler

    def cohorts(body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.cohorts(request_of(body), caller("cohorts", body))

    def one_cohort(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.cohorts(request_of(body), caller("cohort", body), only_id=id)

    def filtering_terms(*, of: str | None = None, entry_type: str | None = None) -> Handler:
        """``of``: the path whose ``{id}`` narrows the terms (``datasets``, ``cohorts``)."""

        def handler(body: Any = None, id: str | None = None, **_params: Any) -> dict[str, Any]:
            return service.filtering_terms(
                request_of(body),
                caller("filtering_terms", body),
                dataset_id=id if of == "datasets" else None,
                entry_type=entry_type,
                cohort_id=id if of == "cohorts" else None,
            )

        return handler

    def service_info(**_params: Any) -> dict[str, Any]:
        return service.service_info()

    table: dict[str, Handler] = {"getServiceInfo": service_info}
    pairs: dict[str, Handler] = {
        "Root": informational(service.info),
        "Info": informational(service.info),
        "Configuration": informational(service.configuration),
        "Map": informational(service.map),
        "EntryTypes": informational(service.entry_types),
        "FilteringTerms": filtering_terms(),
        "IndividualsFilteringTerms": filtering_terms(entry_type="individual"),
        "DatasetFilteringTerms": filtering_terms(of="datasets"),
        "CohortFilteringTerms": filtering_terms(of="cohorts", entry_type="individual"),
        "GenomicVariants": g_variants,
        "OneGenomicVariant": one_g_variant,
        "GenomicVariantIndividuals": linked("g_variants", "individuals"),
        "GenomicVariantBiosamples": linked("g_variants", "biosamples"),
        "Datasets": datasets,
        "OneDataset": one_dataset,
        "DatasetGenomicVariants": dataset_g_variants,
        "DatasetIndividuals": linked("datasets", "individuals"),
        "DatasetBiosamples": linked("datasets", "biosamples"),
        "Individuals": entries("individuals"),
        "OneIndividual": one_entry("individuals"),
        "IndividualGenomicVariants": variants_of("individuals"),
        "IndividualBiosamples": linked("individuals", "biosamples"),
        "Biosamples": entries("biosamples"),
        "OneBiosample": one_entry("biosamples"),
        "BiosampleGenomicVariants": variants_of("biosamples"),
        "BiosampleAnalyses": linked("biosamples", "analyses"),
        "BiosampleRuns": linked("biosamples", "runs"),
        "Runs": entries("runs"),
        "OneRun": one_entry("runs"),
        "RunGenomicVariants": variants_of("runs"),
        "RunAnalyses": linked("runs", "analyses"),
        "Analyses": entries("analyses"),
        "OneAnalysis": one_entry("analyses"),
        "AnalysisGenomicVariants": variants_of("analyses"),
        "Cohorts": cohorts,
        "OneCohort": one_cohort,
        "CohortIndividuals": linked("cohorts", "individuals"),
    }
    for name, handler in pairs.items():
        table[f"get{name}"] = handler
        table[f"post{name}"] = handler
    return table


def mount(runtime: NodeRuntime) -> ApiMount:
    """The Beacon API of one app. Every Beacon service is built here, in this one function."""
    settings, engine = runtime.settings, runtime.engine
    authorizer = runtime.authorization.authorizer
    federated = None
    background: tuple[Background, ...] = ()
    if runtime.federation is not None:
        hub = runtime.federation.settings
        documents = member_documents(runtime.federation) if hub.list_member_metadata else None
        background = (documents,) if documents is not None else ()
        federated = FederatedAnswers(
            runtime.federation,
            authorizer,
            national_id=hub.national_set_id or settings.node.id,
            national_name=hub.national_name or settings.node.name,
            national_reference=settings.public_url + BASE_PATH,
            documents=documents,
        )
    service = BeaconService(
        settings,
        make_session_factory(engine),
        authorizer,
        base_url=settings.public_url + BASE_PATH,
        started_at=runtime.started_at.isoformat,
        read_sessions=make_read_session_factory(engine),
        federated=federated,
    )
    return ApiMount(
        name="beacon",
        document="beacon.yaml",
        base_path=BASE_PATH,
        operations=operations(service, authorizer),
        envelope=beacon_envelope(framework.beacon_id(settings), framework.API_VERSION),
        cors=True,
        direct=True,
        background=background,
        service=ServiceEntry(
            type=ServiceType("beacon", "2.1.1"),
            name="gdi-node Beacon",
            description="Beacon v2: variant discovery and the allele-frequency database",
        ),
    )
