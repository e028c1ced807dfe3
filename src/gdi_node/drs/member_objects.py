"""DRS objects of a hub's members (decision record 0031): ``<prefix>:<member's object id>``.

The hub asks the member, passing on the caller's credentials, and answers with the member's
DrsObject. Its ``id`` is the hub's, so the caller's next request (``/access/{access_id}``) comes
back to the hub. Its access methods and ``self_uri`` stay the member's. An access URL is the
member's signed URL, so the bytes flow from the member to the client and never through the hub.
What the member refuses (401, 403, 404, 409) is refused with the member's message. A member
that cannot answer makes a 502, or a 504 when it missed its deadline.

Bulk requests (``POST /objects``) are split by member. Each member gets one bulk request with
its own ids, all of them in parallel, and the hub's own ids are resolved locally. The result
is one answer whose ``summary`` counts every id asked for. The ids of a member that failed are
``unresolved`` under 502 or 504.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
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
        mine: list[str] = []
        theirs: dict[str, list[tuple[str, str]]] = {}
        members: dict[str, MemberSettings] = {}
        for object_id in ids:
            owned = self.owner(object_id)
            if owned is None:
                mine.append(object_id)
            else:
                members[owned[0].id] = owned[0]
                theirs.setdefault(owned[0].id, []).append((object_id, owned[1]))
        requests = []
        for member_id, pairs in theirs.items():
            body: dict[str, Any] = {"bulk_object_ids": [their for _, their in pairs]}
            passports = (forwarding.body or {}).get("passports")
            if passports is not None:
                body["passports"] = passports
            member = members[member_id]
            headers = forwarding.passed.headers()
            url = f"{member.drs_url}/objects"
            requests.append(MemberRequest(member, "POST", url, (), body, headers))
        pending = self._federation.start(requests, _checker("BulkObjects"))
        try:
            answer = local(mine) if mine else _empty_bulk()
        finally:
            replies = pending.result()
        resolved = list(answer["resolved_drs_object"])
        unresolved = {
            u["error_code"]: list(u["object_ids"]) for u in answer.get("unresolved_drs_objects", [])
        }
        for reply in replies:
            self._audit(forwarding, reply, f"drs bulk objects ({len(theirs[reply.member_id])} ids)")
            hub_id = {their: ours for ours, their in theirs[reply.member_id]}
            if not reply.answered:
                status = 504 if reply.outcome is Outcome.TIMED_OUT else 502
                unresolved.setdefault(status, []).extend(
                    ours for ours, _ in theirs[reply.member_id]
                )
                continue
            for document in reply.document["resolved_drs_object"]:
                ours = hub_id.get(document.get("id"))
                if ours is not None:
                    resolved.append({**document, "id": ours})
            for group in reply.document.get("unresolved_drs_objects") or ():
                unresolved.setdefault(int(group["error_code"]), []).extend(
                    hub_id.get(i, i) for i in group["object_ids"]
                )
        missing = sum(len(v) for v in unresolved.values())
        return {
            "summary": {"requested": len(ids), "resolved": len(resolved), "unresolved": missing},
            "resolved_drs_object": resolved,
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


def _empty_bulk() -> dict[str, Any]:
    return {"resolved_drs_object": [], "unresolved_drs_objects": []}
