"""Protocol logic of the node-level API.

Implements GA4GH service-info 1.0 (the ``Service`` object) for the node itself and the GA4GH
Service Registry 1.0 (``/services``, ``/services/types``, ``/services/{serviceId}``) over the
APIs mounted in this node, plus liveness and readiness for orchestrators.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gdi_node import __version__
from gdi_node.config.settings import Settings
from gdi_node.errors import NotFoundError
from gdi_node.service_info import ServiceEntry, ServiceType


class NodeService:
    """Answers the node-level operations from the settings and the mounted APIs."""

    def __init__(
        self,
        settings: Settings,
        entries: Sequence[tuple[str, ServiceEntry]],
        started_at: datetime,
        readiness_checks: dict[str, Callable[[], bool]],
        *,
        members: Callable[[], dict[str, dict[str, str]]] | None = None,
        member_services: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        """``members``: on a hub, each member's state for ``/ready`` (reported, never a
        reason to be unready: the hub answers with members down and says so);
        ``member_services``: the services the hub's members list, which its registry lists
        after its own."""
        self._settings = settings
        self._members = members
        self._member_services = member_services
        self._entries = tuple(entries)  # (base path, entry)
        self._started_at = started_at
        self._checks = readiness_checks

    def _info(
        self, service_id: str, name: str, description: str, stype: ServiceType
    ) -> dict[str, Any]:
        node = self._settings.node
        return {
            "id": service_id,
            "name": name,
            "type": stype.as_dict(),
            "description": description,
            "organization": {"name": node.organization.name, "url": node.organization.url},
            "contactUrl": node.contact_url,
            "documentationUrl": node.documentation_url,
            "createdAt": self._started_at.isoformat(),
            "updatedAt": self._started_at.isoformat(),
            "environment": node.environment,
            "version": __version__,
        }

    def service_info(self) -> dict[str, Any]:
        """service-info 1.0 of the node, typed as the service registry it is."""
        node = self._settings.node
        registry_type = ServiceType("service-registry", "1.0.0")
        return self._info(node.id, node.name, node.description, registry_type)

    def services(self) -> list[dict[str, Any]]:
        """Service Registry 1.0 ``ExternalService`` objects, one per mounted GA4GH API, then
        (on a hub) the members'."""
        theirs = self._member_services() if self._member_services is not None else []
        return [*self._own_services(), *theirs]

    def _own_services(self) -> list[dict[str, Any]]:
        base_url = self._settings.public_url
        return [
            {
                **self._info(
                    f"{self._settings.node.id}.{entry.type.artifact}",
                    entry.name,
                    entry.description,
                    entry.type,
                ),
                "url": f"{base_url}{base_path}",
            }
            for base_path, entry in self._entries
        ]

    def service(self, service_id: str) -> dict[str, Any]:
        for service in self.services():
            if service["id"] == service_id:
                return service
        raise NotFoundError(f"no service with id {service_id!r} in this node's registry")

    def service_types(self) -> list[str]:
        types = {str(entry.type) for _, entry in self._entries}
        for service in self._member_services() if self._member_services is not None else []:
            kind = service.get("type") or {}
            types.add(f"{kind.get('group')}:{kind.get('artifact')}:{kind.get('version')}")
        return sorted(types)

    def readiness(self) -> tuple[dict[str, Any], bool]:
        """Run every readiness check; ready only if all pass."""
        results = {name: "ok" if check() else "failed" for name, check in self._checks.items()}
        ready = all(value == "ok" for value in results.values())
        body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": results}
        if self._members is not None:
            body["members"] = self._members()
        return body, ready
