"""The GA4GH service-info 1.0 document every API of the node extends (``id``, ``type``,
``organization``...); each API adds its own block (htsget, drs). Also the entry each API has in
the node's Service Registry 1.0 (``/services``), which its mount declares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdi_node import __version__
from gdi_node.config.settings import Settings


@dataclass(frozen=True)
class ServiceType:
    """``group:artifact:version`` of a GA4GH service (service-info 1.0 ``ServiceType``)."""

    artifact: str
    version: str
    group: str = "org.ga4gh"

    def as_dict(self) -> dict[str, str]:
        return {"group": self.group, "artifact": self.artifact, "version": self.version}

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


@dataclass(frozen=True)
class ServiceEntry:
    """One API of the node as the registry lists it; the URL is where it is mounted."""

    type: ServiceType
    name: str
    description: str


def service_info(
    settings: Settings,
    *,
    suffix: str,
    name: str,
    artifact: str,
    version: str,
    description: str,
    started_at: str,
) -> dict[str, Any]:
    """service-info 1.0 for the API ``artifact`` (``org.ga4gh`` group) of this node."""
    node = settings.node
    return {
        "id": f"{node.id}.{suffix}",
        "name": f"{node.name} {name}",
        "type": {"group": "org.ga4gh", "artifact": artifact, "version": version},
        "description": description,
        "organization": {"name": node.organization.name, "url": node.organization.url},
        "contactUrl": node.contact_url,
        "documentationUrl": node.documentation_url,
        "createdAt": started_at,
        "updatedAt": started_at,
        "environment": node.environment,
        "version": __version__,
    }
