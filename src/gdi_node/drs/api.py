"""HTTP handlers of ``openapi/drs.yaml``: parameters in, DRS 1.5 documents out; :func:`mount`
builds the DRS service from the app's runtime."""

from __future__ import annotations

from typing import Any

from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_session_factory
from gdi_node.drs.service import BASE_PATH, DrsService, Issuers
from gdi_node.errors import drs_envelope
from gdi_node.passport.authorizer import Authorizer
from gdi_node.passport.wiring import AuthorizationStack
from gdi_node.service_info import ServiceEntry, ServiceType
from gdi_node.web.mounts import ApiMount, Handler
from gdi_node.web.request import request_credentials, request_facts
from gdi_node.web.runtime import NodeRuntime


def operations(service: DrsService, authorizer: Authorizer) -> dict[str, Handler]:
    """The operationId -> handler table of the DRS API."""

    def caller(operation: str, body: object | None = None) -> Any:
        facts = request_facts(f"drs.{operation}")
        return authorizer.principal(request_credentials(body), facts), facts

    def get_object(object_id: str, expand: bool = False) -> Any:
        del expand  # the node's bundles are flat
        return service.get_object(object_id, *caller("GetObject"))

    def post_object(object_id: str, body: dict[str, Any]) -> Any:
        return service.get_object(object_id, *caller("PostObject", body))

    def get_access_url(object_id: str, access_id: str) -> Any:
        return service.access_url(object_id, access_id, *caller("GetAccessURL"))

    def post_access_url(object_id: str, access_id: str, body: dict[str, Any]) -> Any:
        return service.access_url(object_id, access_id, *caller("PostAccessURL", body))

    def bulk_objects(body: dict[str, Any], expand: bool = False) -> Any:
        del expand
        principal, facts = caller("GetBulkObjects", body)
        return service.bulk_objects(body["bulk_object_ids"], principal, facts)

    def bulk_access(body: dict[str, Any]) -> Any:
        principal, facts = caller("GetBulkAccessURL", body)
        wanted = [
            (i["bulk_object_id"], i["bulk_access_ids"]) for i in body["bulk_object_access_ids"]
        ]
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
        operations=operations(service, authorizer),
        envelope=drs_envelope,
        cors=True,
        service=ServiceEntry(
            type=ServiceType("drs", "1.5.0"),
            name="gdi-node DRS",
            description="DRS 1.5: genomic files and their indexes, access per passport",
        ),
    )
