"""The official Beacon v2.1.1 JSON schemas (``../shared/specs/beacon-v2.1.1``, VRS 1.3), for
validating every Beacon response of the node in the tests.

The schemas refer to each other by their GitHub raw URLs and to VRS by its w3id URL; those are
mapped to the local copies, so validation runs offline and follows every ``$ref``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from tests.conftest import shared_path

RAW = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
VRS = "https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json"


def _root() -> Path:
    return shared_path("specs") / "beacon-v2.1.1"


def _retrieve(uri: str) -> Resource[Any]:
    if uri.startswith(RAW):
        path = _root() / uri.removeprefix(RAW).split("#", 1)[0]
        if not path.is_file() and path.name == "info.json":  # the model refers to the
            path = _root() / "framework" / "json" / "common" / "info.json"  # framework's
    elif uri.split("#", 1)[0] == VRS:
        path = shared_path("specs") / "vrs-1.3.0" / "vrs.json"
    else:
        raise NoSuchResource(uri)
    if not path.is_file():
        raise NoSuchResource(uri)
    contents = json.loads(path.read_text(encoding="utf-8"))
    return Resource.from_contents(contents, default_specification=_spec(contents))


def _spec(contents: Any) -> Any:
    from referencing.jsonschema import DRAFT202012, specification_with

    uri = contents.get("$schema") if isinstance(contents, dict) else None
    return specification_with(uri, default=DRAFT202012) if uri else DRAFT202012


@functools.cache
def _registry() -> Registry[Any]:
    return Registry(retrieve=_retrieve)  # type: ignore[call-arg]


@functools.cache
def _validator(relative: str) -> Any:
    uri = RAW + relative
    schema = _retrieve(uri).contents
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls({"$ref": uri}, registry=_registry())


def errors(relative: str, document: Any) -> list[str]:
    """Every violation of ``document`` against the schema at ``relative`` (under the raw root)."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(relative).iter_errors(document)
    ]


FRAMEWORK = "framework/json/responses/"
MODEL = "models/json/beacon-v2-default-model/"
RESPONSE_SCHEMAS = {
    "info": FRAMEWORK + "beaconInfoResponse.json",
    "configuration": FRAMEWORK + "beaconConfigurationResponse.json",
    "map": FRAMEWORK + "beaconMapResponse.json",
    "entry_types": FRAMEWORK + "beaconEntryTypesResponse.json",
    "filtering_terms": FRAMEWORK + "beaconFilteringTermsResponse.json",
    "boolean": FRAMEWORK + "beaconBooleanResponse.json",
    "count": FRAMEWORK + "beaconCountResponse.json",
    "resultsets": FRAMEWORK + "beaconResultsetsResponse.json",
    "collections": FRAMEWORK + "beaconCollectionsResponse.json",
    "error": FRAMEWORK + "beaconErrorResponse.json",
    "service-info": FRAMEWORK + "ga4gh-service-info-1-0-0-schema.json",
}
RECORD_SCHEMAS = {
    "g_variants": MODEL + "genomicVariations/defaultSchema.json",
    "individuals": MODEL + "individuals/defaultSchema.json",
    "biosamples": MODEL + "biosamples/defaultSchema.json",
    "runs": MODEL + "runs/defaultSchema.json",
    "analyses": MODEL + "analyses/defaultSchema.json",
    "cohorts": MODEL + "cohorts/defaultSchema.json",
    "datasets": MODEL + "datasets/defaultSchema.json",
}


def response_kind(document: dict[str, Any]) -> str:
    """Which framework response a query answer is, from its shape."""
    if "error" in document:
        return "error"
    response = document.get("response")
    if isinstance(response, dict) and "resultSets" in response:
        return "resultsets"
    if isinstance(response, dict) and "collections" in response:
        return "collections"
    return summary_kind(document)


def summary_kind(document: dict[str, Any]) -> str:
    """Which summary response a query answer also is: ``count`` or ``boolean`` from its
    ``responseSummary`` (a result-sets answer below record granularity is both, decision
    record 0030)."""
    return "count" if "numTotalResults" in document.get("responseSummary", {}) else "boolean"


def assert_valid_response(document: dict[str, Any], kind: str | None = None) -> None:
    """Valid as ``kind`` (by default its shape); a result-sets answer at count or boolean
    granularity is checked as the count or boolean response it also is."""
    kind = kind or response_kind(document)
    kinds = [kind]
    granularity = document.get("meta", {}).get("returnedGranularity")
    if kind == "resultsets" and granularity in ("count", "boolean"):
        kinds.append(summary_kind(document))
    for each in kinds:
        found = errors(RESPONSE_SCHEMAS[each], document)
        assert not found, f"{each} response violates Beacon v2.1.1: {found[:5]}"


def assert_valid_records(entry_type: str, records: list[dict[str, Any]]) -> None:
    for record in records:
        found = errors(RECORD_SCHEMAS[entry_type], record)
        assert not found, f"{entry_type} record violates the default model: {found[:5]}"
