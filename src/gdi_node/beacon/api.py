"""HTTP handlers of ``openapi/beacon.yaml``: a Beacon request in, a Beacon v2 document out.

GET query strings are read as sent (``flask.request.args``), so both spellings the spec uses
(``geneId``/``geneid``, ``genomicAlleleShortForm``/``allele``) and comma-joined lists reach the
request parser (gdi_node.beacon.requests) unchanged; connexion has validated them already.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask

from gdi_node.beacon.requests import BeaconRequest, from_get, from_post
from gdi_node.beacon.service import BeaconService
from gdi_node.passport.authorizer import Authorizer
from gdi_node.passport.request import request_credentials, request_facts

Handler = Callable[..., Any]


def operations(service: BeaconService, authorizer: Authorizer) -> dict[str, Handler]:
    """The operationId -> handler table of the Beacon API."""

    def request_of(body: Any) -> BeaconRequest:
        if flask.request.method == "POST":
            return from_post(body if isinstance(body, dict) else None)
        return from_get(flask.request.args.to_dict(flat=True))

    def caller(operation: str, body: Any) -> Any:
        facts = request_facts(f"beacon.{operation}")
        return authorizer.principal(request_credentials(body), facts), facts

    def informational(build: Callable[[], dict[str, Any]]) -> Handler:
        def handler(body: Any = None, **_params: Any) -> dict[str, Any]:
            request_of(body)  # a malformed body is still a 400
            return build()

        return handler

    def g_variants(body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.g_variants(request_of(body), *caller("g_variants", body))

    def one_g_variant(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.g_variants(request_of(body), *caller("g_variant", body), variant_id=id)

    def datasets(body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.datasets(request_of(body), *caller("datasets", body))

    def one_dataset(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
        return service.dataset(id, request_of(body), *caller("dataset", body))

    def dataset_g_variants(id: str, body: Any = None, **_params: Any) -> dict[str, Any]:
        request = request_of(body)
        return service.g_variants(request, *caller("dataset_g_variants", body), dataset_id=id)

    table: dict[str, Handler] = {"getServiceInfo": service.service_info}
    pairs: dict[str, Handler] = {
        "Root": informational(service.info),
        "Info": informational(service.info),
        "Configuration": informational(service.configuration),
        "Map": informational(service.map),
        "EntryTypes": informational(service.entry_types),
        "FilteringTerms": informational(service.filtering_terms),
        "GenomicVariants": g_variants,
        "OneGenomicVariant": one_g_variant,
        "Datasets": datasets,
        "OneDataset": one_dataset,
        "DatasetGenomicVariants": dataset_g_variants,
    }
    for name, handler in pairs.items():
        table[f"get{name}"] = handler
        table[f"post{name}"] = handler
    return table
