"""Which member a hostname-based ``drs://`` URI names, for resolving it through a hub.

A member's objects are ``drs://<its host>/<id>`` (DRS 1.5 hostname-based URIs, no port). With
a hub's settings, ``gdi-node drs resolve`` sends such a URI to the hub as
``<member prefix>:<id>`` (decision record 0031). A host that several members share (members on
one machine, on different ports) names none of them alone. Only ``host:port``, which some
servers mint although DRS 1.5 forbids it, tells them apart, and the compact form
``drs://<prefix>:<id>`` always does.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gdi_node.config.federation import FederatedApi, FederationSettings


def member_hosts(federation: FederationSettings) -> dict[str, str]:
    """``host:port`` of each member using DRS, and its bare host where no other member shares
    it, mapped to the member's prefix."""
    by_host: dict[str, list[str]] = {}
    out: dict[str, str] = {}
    for member in federation.members:
        if FederatedApi.DRS not in member.apis:
            continue
        parts = urlsplit(member.base_url)
        host = (parts.hostname or "").lower()
        out[parts.netloc.lower()] = member.prefix
        by_host.setdefault(host, []).append(member.prefix)
    for host, prefixes in by_host.items():
        if len(prefixes) == 1:
            out[host] = prefixes[0]
    return out
