"""htsget tickets for a hub's members' objects (decision record 0031): ``<prefix>:<id>``.

The hub asks the member for the ticket with the caller's credentials and query (or JSON body)
and answers with the member's ticket as it is. Its URLs point at the member's data endpoint,
signed by the member, so samtools, bcftools and igv.js fetch the bytes from the member and
never through the hub. What the member refuses is refused with the member's message; a member
that cannot answer is a 502 (504 past its deadline), in the htsget error object.
"""

from __future__ import annotations

import functools
from urllib.parse import quote

from gdi_node.config.federation import FederationSettings, MemberSettings
from gdi_node.errors import NotFoundError
from gdi_node.federation.fanout import Federation, Forwarding
from gdi_node.federation.outcomes import answer_or_raise
from gdi_node.passport.authorizer import Authorizer
from gdi_node.web.documents import schema_problem

_TICKET = functools.partial(schema_problem, "htsget.yaml", "Ticket")


class MemberTickets:
    def __init__(self, federation: Federation, authorizer: Authorizer) -> None:
        self._federation = federation
        self._authorizer = authorizer

    @property
    def settings(self) -> FederationSettings:
        return self._federation.settings

    def owner(self, object_id: str) -> tuple[MemberSettings, str] | None:
        """The member a hub object id names and the member's own id; None for the hub's."""
        return self._federation.settings.owner(object_id, api="htsget")

    def ticket(self, datatype: str, object_id: str, forwarding: Forwarding) -> object:
        """The member's ticket for its object (htsget 1.3 ``GET|POST /{reads,variants}/{id}``)."""
        owned = self.owner(object_id)
        if owned is None:  # the handlers route only members' ids here
            raise NotFoundError(f"no object {object_id!r}")
        member, theirs = owned
        url = f"{member.base_url}/htsget/{datatype}/{quote(theirs, safe='')}"
        request = forwarding.request(member, url)
        (reply,) = self._federation.ask([request], _TICKET)
        self._authorizer.record_forwarded(
            forwarding.principal,
            forwarding.facts,
            member.id,
            f"htsget {request.method} /{datatype}/{theirs}",
            reply.outcome.value,
        )
        return answer_or_raise(reply)
