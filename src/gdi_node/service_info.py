"""The GA4GH service-info 1.0 document every API of the node extends (``id``, ``type``,
``organization``...); each API adds its own block (htsget, drs)."""

from __future__ import annotations

from typing import Any

from gdi_node import __version__
from gdi_node.settings import Settings


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
