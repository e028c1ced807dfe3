"""DRS objects of a hub's members (decision record 0031): ``<prefix>:<member's object id>``.

The hub asks the member, passing on the caller's credentials, and answers with the member's
DrsObject. Its ``id`` is the hub's, so the caller's next request (``/access/{access_id}``) comes
back to the hub. Its access methods and ``self_uri`` stay the member's. An access URL is the
member's signed URL, so the bytes flow from the member to the client and never through the hub.
What the member refuses (401, 403, 404, 409) is refused with the member's message. A member
that cannot answer makes a 502, or a 504 when it missed its deadline.

Bulk requests (``POST /objects``, ``POST /objects/access``) are split by member. Each member
gets one bulk request with its own ids, all of them in parallel, and the hub's own ids are
resolved locally. The result is one answer whose ``summary`` counts everything asked for. The
ids of a member that failed are ``unresolved`` under 502 or 504.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gdi_node.config.federation import MemberSettings
from gdi_node.errors import NotFoundError
from gdi_node.federation.fanout import Federation, Forwarding, MemberRequest
from gdi_node.federation.outcomes import MemberReply, Outcome, answer_or_raise
from gdi_node.passport.authorizer import Authorizer
from gdi_node.web.documents import schema_problem


def _checker(schema: str) -> Callable[[Any], str | None]:
    return functools.partial(schema_problem, "drs.yaml", schema)


@dataclass(frozen=True)
class _BulkKind:
    """One of the DRS 1.5 bulk operations as the hub passes it on."""

    path: str
    schema: str
    resolved: str  # the answer's list of what was resolved
    id_field: str  # the object id in each of its items
    body: Callable[[list[tuple[str, Sequence[str]]]], dict[str, Any]]
    count: Callable[[Sequence[str]], int]  # what one asked object counts in the summary


_OBJECTS = _BulkKind(
    "/objects",
    "BulkObjects",
    "resolved_drs_object",
    "id",
    lambda items: {"bulk_object_ids": [object_id for object_id, _ in items]},
    lambda _access: 1,
)
_ACCESS = _BulkKind(
    "/objects/access",
    "BulkAccessURLs",
    "resolved_drs_object_access_urls",
    "drs_object_id",
    lambda items: {
        "bulk_object_access_ids": [
            {"bulk_object_id": object_id, "bulk_access_ids": list(access)}
            for object_id, access in items
        ]
    },
    lambda access: max(len(access), 1),
)


class MemberObjects:
    def __init__(self, federation: Federation, authorizer: Authorizer) -> None:
        self._federation = federation
        self._authorizer = authorizer

    def owner(self, object_id: str) -> tuple[MemberSettings, str] | None:
        """The member a hub object id names and the member's own id; None for the hub's."""
        return self._federation.settings.owner(object_id)

    def get_object(self, object_id: str, forwarding: Forwarding) -> dict[str, Any]:
        member, theirs = self._owned(object_id)
        url = f"{member.drs_url}/objects/{quote(theirs, safe='')}"
        reply = self._ask(member, url, forwarding, "DrsObject")
        document: dict[str, Any] = reply.document
        return {**document, "id": object_id}

    def access_url(self, object_id: str, access_id: str, forwarding: Forwarding) -> dict[str, Any]:
        member, theirs = self._owned(object_id)
        url = (
            f"{member.drs_url}/objects/{quote(theirs, safe='')}/access/{quote(access_id, safe='')}"
        )
        reply = self._ask(member, url, forwarding, "AccessURL")
        document: dict[str, Any] = reply.document
        return document

    def bulk_objects(
        self,
        ids: Sequence[str],
        forwarding: Forwarding,
        local: Callable[[list[str]], dict[str, Any]],
    ) -> dict[str, Any]:
        """``POST /objects`` across members: ``local`` resolves the hub's own ids."""
        wanted = [(i, ()) for i in ids]
        return self._bulk(_OBJECTS, wanted, forwarding, lambda mine: local([i for i, _ in mine]))

    def bulk_access(
        self,
        wanted: Sequence[tuple[str, Sequence[str]]],
        forwarding: Forwarding,
        local: Callable[[list[tuple[str, Sequence[str]]]], dict[str, Any]],
    ) -> dict[str, Any]:
        """``POST /objects/access`` across members: ``local`` signs the hub's own."""
        return self._bulk(_ACCESS, wanted, forwarding, local)

    def _bulk(
        self,
        kind: _BulkKind,
        wanted: Sequence[tuple[str, Sequence[str]]],
        forwarding: Forwarding,
        local: Callable[[list[tuple[str, Sequence[str]]]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Split by member, one bulk request per member in parallel with the hub's own, then
        one answer: member ids mapped back to hub ids, a failed member's ids unresolved under
        502 (504 past its deadline); ``summary`` counts what was asked (objects, or object and
        access id pairs)."""
        mine: list[tuple[str, Sequence[str]]] = []
        theirs: dict[str, list[tuple[str, str, Sequence[str]]]] = {}
        members: dict[str, MemberSettings] = {}
        for object_id, access_ids in wanted:
            owned = self.owner(object_id)
            if owned is None:
                mine.append((object_id, access_ids))
            else:
                members[owned[0].id] = owned[0]
                theirs.setdefault(owned[0].id, []).append((object_id, owned[1], access_ids))
        passports = (forwarding.body or {}).get("passports")
        requests = []
        for member_id, items in theirs.items():
            body = kind.body([(their, access) for _, their, access in items])
            if passports is not None:
                body["passports"] = passports
            member = members[member_id]
            url = f"{member.drs_url}{kind.path}"
            requests.append(
                MemberRequest(member, "POST", url, (), body, forwarding.passed.headers())
            )
        pending = self._federation.start(requests, _checker(kind.schema))
        try:
            answer = local(mine) if mine else {kind.resolved: [], "unresolved_drs_objects": []}
        finally:
            replies = pending.result()
        resolved = list(answer[kind.resolved])
        unresolved = {
            u["error_code"]: list(u["object_ids"]) for u in answer.get("unresolved_drs_objects", [])
        }
        for reply in replies:
            items = theirs[reply.member_id]
            self._audit(forwarding, reply, f"drs bulk {kind.path} ({len(items)} ids)")
            hub_id = {their: ours for ours, their, _ in items}
            if not reply.answered:
                status = 504 if reply.outcome is Outcome.TIMED_OUT else 502
                unresolved.setdefault(status, []).extend(ours for ours, _, _ in items)
                continue
            for document in reply.document.get(kind.resolved) or ():
                ours = hub_id.get(document.get(kind.id_field))
                if ours is not None:
                    resolved.append({**document, kind.id_field: ours})
            for group in reply.document.get("unresolved_drs_objects") or ():
                unresolved.setdefault(int(group["error_code"]), []).extend(
                    hub_id.get(i, i) for i in group["object_ids"]
                )
        requested = sum(kind.count(access) for _, access in wanted)
        return {
            "summary": {
                "requested": requested,
                "resolved": len(resolved),
                "unresolved": requested - len(resolved),
            },
            kind.resolved: resolved,
            "unresolved_drs_objects": [
                {"error_code": code, "object_ids": object_ids}
                for code, object_ids in sorted(unresolved.items())
            ],
        }

    def _owned(self, object_id: str) -> tuple[MemberSettings, str]:
        owned = self.owner(object_id)
        if owned is None:  # the handlers route only members' ids here
            raise NotFoundError(f"no object {object_id!r}")
        return owned

    def _ask(
        self, member: MemberSettings, url: str, forwarding: Forwarding, schema: str
    ) -> MemberReply:
        request = forwarding.request(member, url)
        (reply,) = self._federation.ask([request], _checker(schema))
        self._audit(forwarding, reply, f"drs {request.method} {url.removeprefix(member.drs_url)}")
        answer_or_raise(reply)
        return reply

    def _audit(self, forwarding: Forwarding, reply: MemberReply, described: str) -> None:
        self._authorizer.record_forwarded(
            forwarding.principal,
            forwarding.facts,
            reply.member_id,
            described,
            reply.outcome.value,
        )
