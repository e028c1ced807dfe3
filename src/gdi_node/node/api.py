"""HTTP handlers of ``openapi/node.yaml``: parameters in, spec-shaped dicts out; :func:`mount`
builds the node API, the Service Registry of the other mounts, from the app's runtime."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from gdi_node.config.trust import Disclosure
from gdi_node.db.engine import database_reachable
from gdi_node.db.migrate import current_revision, head_revision
from gdi_node.errors import NotFoundError, service_registry_envelope
from gdi_node.federation.fanout import Federation
from gdi_node.federation.member_documents import MemberDocuments, Wanted
from gdi_node.node.service import NodeService
from gdi_node.node.static import static_asset
from gdi_node.passport.authorizer import Authorizer
from gdi_node.passport.local_issuer import LocalIssuer
from gdi_node.service_info import ServiceEntry, ServiceType
from gdi_node.web.documents import schema_problem
from gdi_node.web.mounts import ApiMount, Handler
from gdi_node.web.observability import RequestMetrics
from gdi_node.web.request import request_credentials, request_facts
from gdi_node.web.runtime import NodeRuntime

REGISTRY = ServiceEntry(
    type=ServiceType("service-registry", "1.0.0"),
    name="gdi-node service registry",
    description="GA4GH Service Registry of the APIs this node serves",
)


def _permissions(authorizer: Authorizer, operation: str, body: object | None) -> dict[str, Any]:
    facts = request_facts(operation)
    principal = authorizer.principal(request_credentials(body), facts)
    listed = []
    for dataset_id in authorizer.policy.dataset_ids:
        permit = authorizer.decide(principal, dataset_id, facts)
        if permit.disclosure is Disclosure.NONE:
            continue
        expires = permit.expires_at
        listed.append(
            {
                "datasetId": permit.dataset_id,
                "securityLevel": permit.security_level.value,
                "audience": permit.audience.value,
                "disclosure": permit.disclosure.value,
                "residency": permit.residency_ok,
                "expiresAt": None
                if expires is None
                else datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z"),
                "visaIds": [v.visa_id for v in permit.visas_used],
            }
        )
    identity = principal.identity
    return {
        "subject": None if identity is None else {"iss": identity[0], "sub": identity[1]},
        "permissions": listed,
        "ignoredVisas": [{"id": i, "reason": r} for i, r in principal.ignored],
    }


def operations(
    service: NodeService,
    metrics: RequestMetrics,
    authorizer: Authorizer,
    local_issuer: LocalIssuer | None,
) -> dict[str, Handler]:
    """The operationId -> handler table of the node API, bound to this app's services."""

    def get_service_info() -> dict[str, Any]:
        return service.service_info()

    def list_services() -> list[dict[str, Any]]:
        return service.services()

    def list_service_types() -> list[str]:
        return service.service_types()

    def get_service(serviceId: str) -> dict[str, Any]:
        return service.service(serviceId)

    def get_health() -> dict[str, Any]:
        return {"status": "ok", "checks": {"process": "ok"}}

    def get_readiness() -> tuple[dict[str, Any], int]:
        body, ready = service.readiness()
        return body, 200 if ready else 503

    def get_metrics() -> str:
        return metrics.exposition()

    def list_permissions() -> dict[str, Any]:
        return _permissions(authorizer, "node.listPermissions", None)

    def list_permissions_with_passports(body: dict[str, Any]) -> dict[str, Any]:
        return _permissions(authorizer, "node.listPermissionsWithPassports", body)

    def get_root() -> tuple[str, int, dict[str, str]]:
        return "", 302, {"Location": "/browser/"}

    def get_igv_script() -> tuple[bytes, int, dict[str, str]]:
        return static_asset("igv.min.js")

    def get_igv_licence() -> tuple[bytes, int, dict[str, str]]:
        return static_asset("igv.LICENSE")

    def get_local_issuer_jwks() -> dict[str, Any]:
        if local_issuer is None:
            raise NotFoundError("this node has no local passport issuer")
        return local_issuer.jwks()

    return {
        "getServiceInfo": get_service_info,
        "listServices": list_services,
        "listServiceTypes": list_service_types,
        "getService": get_service,
        "getHealth": get_health,
        "getReadiness": get_readiness,
        "getMetrics": get_metrics,
        "listPermissions": list_permissions,
        "listPermissionsWithPassports": list_permissions_with_passports,
        "getLocalIssuerJwks": get_local_issuer_jwks,
        "getRoot": get_root,
        "getIgvScript": get_igv_script,
        "getIgvLicence": get_igv_licence,
    }


def _schema_is_current(engine: Engine, head: str | None) -> bool:
    try:
        return current_revision(engine) == head
    except Exception:  # an unreachable database is reported by the other check
        return False


class MemberServices:
    """The services a hub's members list in their registries (``/services``), kept and
    refreshed in the background (gdi_node.federation.member_documents)."""

    def __init__(self, federation: Federation) -> None:
        wanted = Wanted(None, lambda m: f"{m.base_url}/services", _services_problem)
        every = federation.settings.metadata_refresh_seconds
        self.documents = MemberDocuments(federation, {"services": wanted}, every)

    def services(self) -> list[dict[str, Any]]:
        services: list[dict[str, Any]] = []
        for copy in self.documents.kept("services").values():
            if isinstance(copy.document, list):  # checked when kept (_services_problem)
                services += [dict(s) for s in copy.document]
        return services


def _services_problem(document: Any) -> str | None:
    if not isinstance(document, list):
        return "not a list of services"
    for service in document:
        problem = schema_problem("node.yaml", "ExternalService", service)
        if problem is not None:
            return problem
    return None


def _member_states(federation: Federation) -> Callable[[], dict[str, dict[str, str]]]:
    def states() -> dict[str, dict[str, str]]:
        out = {}
        for health in federation.health():
            state = {"circuit": health.circuit.value}
            if health.last_outcome is not None:
                state["lastOutcome"] = health.last_outcome
            out[health.member_id] = state
        return out

    return states


def mount(runtime: NodeRuntime, apis: Sequence[ApiMount]) -> ApiMount:
    """The node API of one app, at the root: service-info, health and readiness, metrics,
    permissions, and the Service Registry of ``apis`` and of itself."""
    engine, audit = runtime.engine, runtime.authorization.audit
    head = head_revision()
    federation = runtime.federation
    kept = None
    if federation is not None and federation.settings.list_member_metadata:
        kept = MemberServices(federation)
    listed = [(api.base_path, api.service) for api in apis if api.service is not None]
    service = NodeService(
        runtime.settings,
        [*listed, ("", REGISTRY)],
        runtime.started_at,
        {
            "database": lambda: database_reachable(engine),
            "schema": lambda: _schema_is_current(engine, head),
            "audit": lambda: not audit.health().stuck,
        },
        members=_member_states(runtime.federation) if runtime.federation else None,
        member_services=kept.services if kept is not None else None,
    )
    return ApiMount(
        name="node",
        document="node.yaml",
        base_path="",
        operations=operations(
            service,
            runtime.metrics,
            runtime.authorization.authorizer,
            runtime.authorization.local_issuer,
        ),
        envelope=service_registry_envelope,
        service=REGISTRY,
        background=(kept.documents,) if kept is not None else (),
    )
