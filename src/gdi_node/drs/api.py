"""HTTP handlers of ``openapi/drs.yaml``: parameters in, DRS 1.5 documents out; :func:`mount`
builds the DRS service from the app's runtime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gdi_node.config.federation import FederatedApi
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_session_factory
from gdi_node.drs.member_objects import MemberObjects
from gdi_node.drs.service import BASE_PATH, DrsService, Issuers
from gdi_node.errors import drs_envelope
from gdi_node.federation.fanout import Forwarding
from gdi_node.passport.authorizer import Authorizer
from gdi_node.passport.wiring import AuthorizationStack
from gdi_node.service_info import ServiceEntry, ServiceType
from gdi_node.web.mounts import ApiMount, Handler
from gdi_node.web.request import passed_on, request_credentials, request_facts
from gdi_node.web.runtime import NodeRuntime


def operations(
    service: DrsService, authorizer: Authorizer, members: MemberObjects | None = None
) -> dict[str, Handler]:
    """The operationId -> handler table of the DRS API; on a hub, ``members`` answers for the
    members' objects (``<prefix>:<id>``, gdi_node.drs.member_objects)."""

    def caller(operation: str, body: object | None = None) -> Any:
        facts = request_facts(f"drs.{operation}")
        return authorizer.principal(request_credentials(body), facts), facts

    def forwarded(operation: str, body: dict[str, Any] | None = None) -> Forwarding:
        """The request as a member gets it; the audit names who asks (the member decides)."""
        facts = request_facts(f"drs.{operation}")
        principal = authorizer.principal_for_record(lambda: request_credentials(body))
        return Forwarding(passed_on(), principal, facts, body)

    def of_member(object_id: str) -> bool:
        return members is not None and members.owner(object_id) is not None

    def get_object(object_id: str, expand: bool = False) -> Any:
        del expand  # the node's bundles are flat
        if members is not None and of_member(object_id):
            return members.get_object(object_id, forwarded("GetObject"))
        return service.get_object(object_id, *caller("GetObject"))

    def post_object(object_id: str, body: dict[str, Any]) -> Any:
        if members is not None and of_member(object_id):
            return members.get_object(object_id, forwarded("PostObject", body))
        return service.get_object(object_id, *caller("PostObject", body))

    def get_access_url(object_id: str, access_id: str) -> Any:
        if members is not None and of_member(object_id):
            return members.access_url(object_id, access_id, forwarded("GetAccessURL"))
        return service.access_url(object_id, access_id, *caller("GetAccessURL"))

    def post_access_url(object_id: str, access_id: str, body: dict[str, Any]) -> Any:
        if members is not None and of_member(object_id):
            who = forwarded("PostAccessURL", body)
            return members.access_url(object_id, access_id, who)
        return service.access_url(object_id, access_id, *caller("PostAccessURL", body))

    def bulk_objects(body: dict[str, Any], expand: bool = False) -> Any:
        del expand
        ids = body["bulk_object_ids"]
        if members is not None and any(of_member(i) for i in ids):

            def local(mine: list[str]) -> dict[str, Any]:
                return service.bulk_objects(mine, *caller("GetBulkObjects", body))

            return members.bulk_objects(ids, forwarded("GetBulkObjects", body), local)
        principal, facts = caller("GetBulkObjects", body)
        return service.bulk_objects(ids, principal, facts)

    def bulk_access(body: dict[str, Any]) -> Any:
        wanted = [
            (i["bulk_object_id"], i["bulk_access_ids"]) for i in body["bulk_object_access_ids"]
        ]
        if members is not None and any(of_member(i) for i, _ in wanted):

            def local(mine: list[tuple[str, Sequence[str]]]) -> dict[str, Any]:
                return service.bulk_access(mine, *caller("GetBulkAccessURL", body))

            return members.bulk_access(wanted, forwarded("GetBulkAccessURL", body), local)
        principal, facts = caller("GetBulkAccessURL", body)
        return service.bulk_access(wanted, principal, facts)

    return {
        "GetServiceInfo": service.service_info,
        "GetObject": get_object,
        "PostObject": post_object,
        "OptionsObject": service.authorizations,
        "GetAccessURL": get_access_url,
        "PostAccessURL": post_access_url,
        "GetBulkObjects": bulk_objects,
        "OptionsBulkObject": lambda body: service.bulk_authorizations(body["bulk_object_ids"]),
        "GetBulkAccessURL": bulk_access,
    }


def issuers(settings: Settings, stack: AuthorizationStack) -> Issuers:
    """Visa issuers and token issuers the node trusts, for DRS ``Authorizations``."""
    local = (stack.local_issuer.issuer,) if stack.local_issuer is not None else ()
    trust = settings.trust
    return Issuers(
        passport=(*(i.issuer for i in trust.visa_issuers), *local),
        bearer=(*(i.issuer for i in trust.passport_issuers), *local),
    )


def mount(runtime: NodeRuntime) -> ApiMount:
    """The DRS API of one app, signing with the runtime's signer behind its consent gate."""
    authorizer = runtime.authorization.authorizer
    federation = runtime.federation
    members = None
    if federation is not None and any(FederatedApi.DRS in m.apis for m in federation.members):
        members = MemberObjects(federation, authorizer)
    service = DrsService(
        runtime.settings,
        make_session_factory(runtime.engine),
        runtime.signer,
        authorizer,
        consent=runtime.consent,
        issuers=issuers(runtime.settings, runtime.authorization),
        started_at=runtime.started_at.isoformat,
    )
    return ApiMount(
        name="drs",
        document="drs.yaml",
        base_path=BASE_PATH,
        operations=operations(service, authorizer, members),
        envelope=drs_envelope,
        cors=True,
        service=ServiceEntry(
            type=ServiceType("drs", "1.5.0"),
            name="gdi-node DRS",
            description="DRS 1.5: genomic files and their indexes, access per passport",
        ),
    )
