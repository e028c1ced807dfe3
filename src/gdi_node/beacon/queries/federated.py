"""Beacon queries across a hub's members (decision record 0031).

A query the hub federates is answered by the hub's own privacy gate for its own datasets (its
permits, budget and audit, exactly as on any node) while the same query goes to every member
with the caller's credentials; the member decides for itself what this caller sees. The hub
then combines what came back (gdi_node.beacon.framework.federated_responses): member by member
for callers ``federation.transparent_to`` names, one national answer for everyone else. Each
member asked is written to the hub's audit trail with what came of it. The hub never shows a
member's answer it could not check (an invalid one is named, not used) and never shows more
than the member showed this caller: opaque sums are built from the members' answers to this
very request. A hub's ``/filtering_terms`` and ``/datasets`` add the members' as an anonymous
caller sees them, kept and refreshed in the background (``member_documents``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gdi_node.beacon.framework.federated_collections import (
    MemberCopy,
    with_member_datasets,
    with_member_terms,
)
from gdi_node.beacon.framework.federated_responses import Combination, Part, opaque, transparent
from gdi_node.beacon.framework.member_answers import query_answer_problem
from gdi_node.beacon.framework.requests import MAX_LIMIT, BeaconRequest, ResultsetsShown
from gdi_node.beacon.queries.gate import Caller
from gdi_node.config.federation import FederatedApi, MemberSettings, TransparentTo
from gdi_node.config.settings import SecurityLevel
from gdi_node.federation.fanout import Federation, MemberRequest, PassedOn
from gdi_node.federation.member_documents import MemberDocuments, Wanted
from gdi_node.federation.outcomes import MemberReply
from gdi_node.passport.authorizer import Authorizer
from gdi_node.web.documents import schema_problem

# the member parameters a hub rewrites: every member lists every dataset it answered
_RESULTSETS = "includeResultsetResponses"


@dataclass(frozen=True)
class ForwardedCall:
    """The caller's request as the hub passes it on: ``path`` below the Beacon base path,
    the query parameters and JSON body as sent, and the caller's credentials and address."""

    method: str
    path: str
    args: Sequence[tuple[str, str]]
    body: Any
    passed: PassedOn


# what a hub keeps of each member's Beacon: name, path and the schema its answer must match
_KEPT = (
    ("filtering_terms", "/filtering_terms?limit=0", "InformationalResponse"),
    ("datasets", "/datasets?limit=0", "QueryResponse"),
    ("info", "/info", "InfoResponse"),
    ("configuration", "/configuration", "InformationalResponse"),
)


def _beacon_url(member: MemberSettings, *, path: str) -> str:
    return f"{member.beacon_url}{path}"


def member_documents(federation: Federation) -> MemberDocuments:
    """The members' Beacon documents a hub keeps (anonymous view, refreshed every
    ``federation.metadata_refresh_seconds``); a background job of the app."""
    wanted = {
        name: Wanted(
            FederatedApi.BEACON,
            functools.partial(_beacon_url, path=path),
            functools.partial(schema_problem, "beacon.yaml", schema),
        )
        for name, path, schema in _KEPT
    }
    return MemberDocuments(federation, wanted, federation.settings.metadata_refresh_seconds)


class FederatedAnswers:
    def __init__(
        self,
        federation: Federation,
        authorizer: Authorizer,
        *,
        national_id: str,
        national_name: str,
        national_reference: str,
        documents: MemberDocuments | None = None,
    ) -> None:
        self._federation = federation
        self._authorizer = authorizer
        self._national = (national_id, national_name, national_reference)
        self._documents = documents

    def listing(
        self,
        name: str,
        own: Callable[[BeaconRequest], dict[str, Any]],
        request: BeaconRequest,
    ) -> dict[str, Any]:
        """``/filtering_terms`` or ``/datasets`` (``name``): all of the hub's own, with the
        members' kept ones, one page."""
        mine = own(replace(request, skip=0, limit=MAX_LIMIT))
        copies, missing = self._copies(name)
        merge = with_member_terms if name == "filtering_terms" else with_member_datasets
        return merge(mine, copies, missing, request)

    def member_beacons(self) -> list[dict[str, Any]]:
        """The members' Beacons as the hub's ``/info`` lists them (``response.info.members``):
        each member's id, name and region, with its Beacon's id, name and organisation as
        last fetched (and when, and whether that copy is stale), or why it never was."""
        kept = self._documents.kept("info") if self._documents is not None else {}
        missing = self._documents.missing("info") if self._documents is not None else {}
        listed = []
        for member in self._federation.members:
            if FederatedApi.BEACON not in member.apis:
                continue
            entry: dict[str, Any] = {
                "memberId": member.id,
                "name": member.name,
                "region": member.region,
                "beaconUrl": member.beacon_url,
            }
            copy = kept.get(member.id)
            if copy is not None and isinstance(copy.document, dict):
                theirs = copy.document.get("response") or {}
                entry["beaconId"] = theirs.get("id")
                entry["beaconName"] = theirs.get("name")
                entry["organization"] = (theirs.get("organization") or {}).get("name")
                entry.update({k: v for k, v in copy.status(member.id).items() if k != "memberId"})
            else:
                entry["problem"] = missing.get(member.id, "not fetched yet")
            listed.append(entry)
        return listed

    def member_security_levels(self) -> set[str]:
        """The security levels the members' Beacons declare (``/configuration``): a hub's
        configuration declares its own and these."""
        levels: set[str] = set()
        if self._documents is None:
            return levels
        for kept in self._documents.kept("configuration").values():
            document = kept.document if isinstance(kept.document, dict) else {}
            attributes = (document.get("response") or {}).get("securityAttributes") or {}
            levels |= {str(v) for v in attributes.get("securityLevels") or ()}
        return levels & {level.value for level in SecurityLevel}

    def _copies(self, name: str) -> tuple[list[MemberCopy], dict[str, str]]:
        if self._documents is None:
            return [], {}
        kept = self._documents.kept(name)
        missing = self._documents.missing(name)
        copies = [
            MemberCopy(m.id, m.name, m.region, kept[m.id].document, kept[m.id].status(m.id))
            for m in self._federation.members
            if m.id in kept
        ]
        for member in self._federation.members:  # not fetched yet (the hub just started)
            if FederatedApi.BEACON in member.apis and member.id not in kept:
                missing.setdefault(member.id, "not fetched yet")
        return copies, missing

    def combine(
        self,
        own: Callable[[BeaconRequest], dict[str, Any]],
        request: BeaconRequest,
        caller: Caller,
        call: ForwardedCall,
        *,
        merge_records: bool,
    ) -> dict[str, Any]:
        """The hub's answer: ``own`` answers the hub's datasets (through its gate) while the
        members answer the forwarded ``call``; then both are combined for this caller."""
        members = [m for m in self._federation.members if FederatedApi.BEACON in m.apis]
        pending = self._federation.start(
            [self._member_request(m.beacon_url, m, call) for m in members],
            query_answer_problem,
        )
        try:
            mine = own(replace(request, resultsets=ResultsetsShown.ALL))
        finally:
            replies = pending.result()
        described = f"beacon {call.method} {call.path}"
        for reply in replies:
            self._authorizer.record_forwarded(
                caller.principal, caller.facts, reply.member_id, described, reply.outcome.value
            )
        national_id, national_name, reference = self._national
        how = Combination(
            shown=request.resultsets,
            statuses=[_status(r) for r in replies],
            missing=[r.missing() for r in replies if not r.answered],
            merge_records=merge_records,
            national_id=national_id,
            national_name=national_name,
            national_reference=reference,
        )
        names = {m.id: m for m in members}
        parts = [
            Part(r.document, r.member_id, names[r.member_id].name, names[r.member_id].region)
            for r in replies
            if r.answered
        ]
        combine = transparent if self._transparent(caller) else opaque
        return combine(Part(mine), parts, how)

    def _transparent(self, caller: Caller) -> bool:
        rule = self._federation.settings.transparent_to
        if rule is TransparentTo.EVERYONE:
            return True
        if rule is TransparentTo.NOBODY:
            return False
        policy = self._authorizer.policy
        if not policy.registered_access(caller.principal):
            return False
        return rule is TransparentTo.REGISTERED or policy.in_residency(caller.facts.client_address)

    @staticmethod
    def _member_request(base: str, member: MemberSettings, call: ForwardedCall) -> MemberRequest:
        headers = call.passed.headers()
        params = [(k, v) for k, v in call.args if k != _RESULTSETS]
        body = call.body
        if call.method == "POST":
            body = dict(body) if isinstance(body, dict) else {}
            query = dict(body.get("query") or {})
            query[_RESULTSETS] = ResultsetsShown.ALL.value
            body["query"] = query
        else:
            params.append((_RESULTSETS, ResultsetsShown.ALL.value))
        return MemberRequest(member, call.method, base + call.path, params, body, headers)


def _status(reply: MemberReply) -> dict[str, Any]:
    return {
        "memberId": reply.member_id,
        "status": reply.outcome.value,
        "seconds": round(reply.seconds, 3),
    }
