"""Whether a member's answer to a Beacon query is a Beacon query answer: the hub checks it
against the ``QueryResponse`` schema of the node's own ``openapi/beacon.yaml`` (framework
``beaconResultsetsResponse`` / ``beaconCountResponse`` / ``beaconBooleanResponse``, with the
v2.2 count precision) before combining it. An answer that is not one is left out and the
member named as answering something invalid (decision record 0031), never half-used.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema

from gdi_node.web.documents import openapi_spec


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    components = openapi_spec("beacon.yaml")["components"]
    schema = {"$ref": "#/components/schemas/QueryResponse", "components": components}
    validator: jsonschema.protocols.Validator = jsonschema.Draft4Validator(schema)
    return validator


def query_answer_problem(document: Any) -> str | None:
    """None when ``document`` is a Beacon query answer; else what is wrong with it, in one
    line."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the document"
    return f"not a Beacon query answer: {where}: {error.message}"[:300]
