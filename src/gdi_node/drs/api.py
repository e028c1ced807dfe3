"""HTTP handlers of ``openapi/drs.yaml``: parameters in, DRS 1.5 documents out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gdi_node.drs.service import DrsService
from gdi_node.passport.authorizer import Authorizer
from gdi_node.passport.request import request_credentials, request_facts

Handler = Callable[..., Any]


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
