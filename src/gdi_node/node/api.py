"""HTTP handlers of ``openapi/node.yaml``: parameters in, spec-shaped dicts out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gdi_node.node.service import NodeService
from gdi_node.observability import RequestMetrics

Handler = Callable[..., Any]


def operations(service: NodeService, metrics: RequestMetrics) -> dict[str, Handler]:
    """The operationId -> handler table of the node API, bound to this app's service."""

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

    return {
        "getServiceInfo": get_service_info,
        "listServices": list_services,
        "listServiceTypes": list_service_types,
        "getService": get_service,
        "getHealth": get_health,
        "getReadiness": get_readiness,
        "getMetrics": get_metrics,
    }
