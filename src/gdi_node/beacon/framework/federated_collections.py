"""A hub's ``/filtering_terms`` and ``/datasets`` with its members' (decision record 0031): the
hub's own, then the members' kept copies (fetched anonymously, refreshed in the background;
gdi_node.federation.member_documents), paginated together.

Filtering terms are one list: a member's term the hub or an earlier member already lists is
not repeated, and ontology resources are merged by id. A member's dataset is listed as
``<member id>:<dataset id>`` with ``info.member``. ``info.federation.members`` says when each
member's copy was fetched and whether it is stale (the last refresh failed and this is the
last good copy), and ``info.federation.missing`` names members never fetched.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gdi_node.beacon.framework.requests import BeaconRequest


@dataclass(frozen=True)
class MemberCopy:
    """One member's kept document and its status entry."""

    member_id: str
    member_name: str
    region: str
    document: Any
    status: Mapping[str, Any]

    @property
    def response(self) -> dict[str, Any]:
        """The kept document's ``response`` (empty when it has none)."""
        if not isinstance(self.document, dict):
            return {}
        found: dict[str, Any] = self.document.get("response") or {}
        return found


def with_member_terms(
    own: dict[str, Any],
    copies: Sequence[MemberCopy],
    missing: Mapping[str, str],
    request: BeaconRequest,
) -> dict[str, Any]:
    """``own`` (every term of the hub's, unpaginated) with the members' terms, one page."""
    response = own.get("response") or {}
    terms = [dict(t) for t in response.get("filteringTerms") or ()]
    resources = {r.get("id"): r for r in response.get("resources") or ()}
    seen = {t.get("id") for t in terms}
    for member in copies:
        theirs = (
            (member.document.get("response") or {}) if isinstance(member.document, dict) else {}
        )
        for term in theirs.get("filteringTerms") or ():
            if isinstance(term, dict) and term.get("id") not in seen:
                seen.add(term.get("id"))
                terms.append(copy.deepcopy(term))
        for resource in theirs.get("resources") or ():
            if isinstance(resource, dict):
                resources.setdefault(resource.get("id"), copy.deepcopy(resource))
    merged = _as_asked(copy.deepcopy(own), request)
    merged["response"] = {
        "filteringTerms": _page(terms, request),
        "resources": list(resources.values()),
    }
    return _noting_members(merged, copies, missing)


def with_member_datasets(
    own: dict[str, Any],
    copies: Sequence[MemberCopy],
    missing: Mapping[str, str],
    request: BeaconRequest,
) -> dict[str, Any]:
    """``own`` (every dataset of the hub's the caller may know of, unpaginated) with the
    members' datasets as an anonymous caller sees them, one page."""
    collections = [dict(c) for c in (own.get("response") or {}).get("collections") or ()]
    for member in copies:
        theirs = (
            (member.document.get("response") or {}) if isinstance(member.document, dict) else {}
        )
        for dataset in theirs.get("collections") or ():
            if not isinstance(dataset, dict):
                continue
            listed = copy.deepcopy(dataset)
            listed["id"] = f"{member.member_id}:{dataset.get('id', '')}"
            info = dict(listed.get("info") or {})
            info["member"] = {
                "id": member.member_id,
                "name": member.member_name,
                "region": member.region,
            }
            listed["info"] = info
            collections.append(listed)
    merged = _as_asked(copy.deepcopy(own), request)
    merged["responseSummary"] = {"exists": bool(collections), "numTotalResults": len(collections)}
    merged["response"] = {"collections": _page(collections, request)}
    return _noting_members(merged, copies, missing)


def _page(items: list[dict[str, Any]], request: BeaconRequest) -> list[dict[str, Any]]:
    return items[request.skip * request.limit : (request.skip + 1) * request.limit]


def _as_asked(document: dict[str, Any], request: BeaconRequest) -> dict[str, Any]:
    """The hub asked its own datasets for everything; the response says what the caller
    asked for."""
    received = (document.get("meta") or {}).get("receivedRequestSummary")
    if isinstance(received, dict) and "pagination" in received:
        received["pagination"] = {"skip": request.skip, "limit": request.limit}
    return document


def _noting_members(
    document: dict[str, Any], copies: Sequence[MemberCopy], missing: Mapping[str, str]
) -> dict[str, Any]:
    federation: dict[str, Any] = {"members": [dict(c.status) for c in copies]}
    if missing:
        federation["missing"] = [
            {"memberId": member_id, "reason": why} for member_id, why in sorted(missing.items())
        ]
    document["info"] = {**document.get("info", {}), "federation": federation}
    return document
