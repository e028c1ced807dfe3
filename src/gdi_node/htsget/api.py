"""HTTP handlers of ``openapi/htsget.yaml``: parameters in, spec dicts (or a byte stream) out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask

from gdi_node.htsget.data import AUDIT_OPERATION, DataService
from gdi_node.htsget.requests import Datatype, from_body, from_query
from gdi_node.htsget.service import HtsgetService
from gdi_node.passport.authorizer import Authorizer
from gdi_node.passport.request import request_credentials, request_facts

Handler = Callable[..., Any]


def operations(
    service: HtsgetService, data: DataService, authorizer: Authorizer
) -> dict[str, Handler]:
    """The operationId -> handler table of the htsget API."""

    def search(datatype: Datatype, operation: str, object_id: str, params: dict[str, Any]) -> Any:
        request = from_query(datatype, params)
        facts = request_facts(operation)
        principal = authorizer.principal(request_credentials(), facts)
        return service.ticket(object_id, request, principal, facts)

    def post(datatype: Datatype, operation: str, object_id: str, body: Any) -> Any:
        request = from_body(datatype, body)
        facts = request_facts(operation)
        principal = authorizer.principal(request_credentials(body), facts)
        return service.ticket(object_id, request, principal, facts)

    def search_reads(id: str, **params: Any) -> Any:
        return search("reads", "htsget.searchReads", id, params)

    def search_variants(id: str, **params: Any) -> Any:
        return search("variants", "htsget.searchVariants", id, params)

    def post_reads(id: str, body: Any = None) -> Any:
        return post("reads", "htsget.postReads", id, body)

    def post_variants(id: str, body: Any = None) -> Any:
        return post("variants", "htsget.postVariants", id, body)

    def get_data(id: str, part: str, exp: int, sig: str) -> flask.Response:
        answer = data.response(
            id,
            part,
            exp,
            sig,
            flask.request.headers.get("Range"),
            facts=request_facts(AUDIT_OPERATION),
        )
        return flask.Response(
            answer.chunks(data.chunk_bytes),
            status=answer.status,
            headers=answer.headers,
            mimetype=answer.media_type,
            direct_passthrough=True,
        )

    return {
        "readsServiceInfo": lambda: service.service_info("reads"),
        "variantsServiceInfo": lambda: service.service_info("variants"),
        "searchReads": search_reads,
        "searchVariants": search_variants,
        "postReads": post_reads,
        "postVariants": post_variants,
        "getData": get_data,
    }
