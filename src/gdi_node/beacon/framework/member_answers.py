"""Whether a member's answer to a Beacon query is a Beacon query answer: the hub checks it
against the ``QueryResponse`` schema of the node's own ``openapi/beacon.yaml`` (framework
``beaconResultsetsResponse`` / ``beaconCountResponse`` / ``beaconBooleanResponse``, with the
v2.2 count precision) before combining it. An answer that is not one is left out and the
member named as answering something invalid (decision record 0031), never half-used.
"""

from __future__ import annotations

from typing import Any

from gdi_node.web.documents import schema_problem


def query_answer_problem(document: Any) -> str | None:
    """None when ``document`` is a Beacon query answer; else what is wrong with it, in one
    line."""
    problem = schema_problem("beacon.yaml", "QueryResponse", document)
    return None if problem is None else f"not a Beacon query answer: {problem}"
