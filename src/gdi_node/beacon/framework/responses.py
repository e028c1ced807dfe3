"""Shaping Beacon v2 query answers: the response ``meta`` (framework
``beaconResponseMeta`` with ``receivedRequestSummary``) and the response an entry-type query
returns at its granularity (framework ``beaconBooleanResponse``, ``beaconCountResponse``,
``beaconResultsetsResponse``; v2.2 ``countPrecision``/``countAdjustedTo``), with one result set
per dataset at every granularity (decision record 0030), and a page of a collection
(``beaconCollectionsResponse``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity, ResultsetsShown
from gdi_node.beacon.model.precision import Reported, presence


@dataclass(frozen=True)
class DatasetAnswer:
    """One dataset's result set, before it is shaped for the returned granularity."""

    dataset_id: str
    granularity: Granularity
    count: Reported
    results: list[dict[str, Any]]
    rare_revealed: int = 0
    withheld: str | None = None  # why the answer is empty (gdi_node.beacon.queries.small_scopes)
    # an allele-specific query the dataset has no hit for: chromosomes called at its site
    # (``info.alleleNumberAtSite``, decision record 0032), telling absent from not covered
    site_allele_number: int | None = None

    @property
    def exists(self) -> bool:
        return self.count.value > 0


def withheld_info(reasons: Mapping[str, str]) -> dict[str, Any]:
    """The response ``info`` naming the datasets answered as if nothing were known, and why."""
    return {"withheld": [{"datasetId": d, "reason": r} for d, r in sorted(reasons.items())]}


def ignored_credential_info(reason: str) -> dict[str, Any]:
    """The response ``info`` saying the credential presented was ignored, and why: the query
    was answered as for an anonymous caller (decision record 0028)."""
    return {"ignoredCredential": {"reason": reason, "answeredAs": "anonymous"}}


def response_meta(
    beacon_id: str, request: BeaconRequest, entry: framework.EntryType, granularity: Granularity
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "apiVersion": framework.API_VERSION,
        "requestedSchemas": list(request.requested_schemas),
        "pagination": {"skip": request.skip, "limit": request.limit},
        "requestedGranularity": (request.granularity or Granularity.BOOLEAN).value,
        "includeResultsetResponses": request.resultsets.value,
        "testMode": request.test_mode,
    }
    if request.filters:
        summary["filters"] = [f.summary() for f in request.filters]
    if request.parameters:  # the framework keys them by entity: {"g_variant": {...}}
        summary["requestParameters"] = {"g_variant": dict(request.parameters)}
    return {
        "beaconId": beacon_id,
        "apiVersion": framework.API_VERSION,
        "returnedSchemas": [entry.schema()],
        "returnedGranularity": granularity.value,
        "receivedRequestSummary": summary,
        "testMode": request.test_mode,
    }


def collection_response(
    meta: dict[str, Any], request: BeaconRequest, collections: list[dict[str, Any]]
) -> dict[str, Any]:
    """One page of a collection (framework ``beaconCollectionsResponse``: datasets, cohorts)."""
    page = collections[request.skip * request.limit : (request.skip + 1) * request.limit]
    return {
        "meta": meta,
        "responseSummary": {"exists": bool(collections), "numTotalResults": len(collections)},
        "response": {"collections": page},
    }


def shape_g_variants(
    meta: dict[str, Any],
    request: BeaconRequest,
    granularity: Granularity,
    answers: list[DatasetAnswer],
    public_id: Callable[[str], str] = str,
) -> dict[str, Any]:
    """The response at ``granularity``; datasets answered as if nothing were known (a small
    scope, gdi_node.beacon.queries.small_scopes) are named in the top-level ``info``. Datasets
    are named by ``public_id(dataset id)``: the identifier the catalogue publishes too
    (decision record 0026)."""
    shaped = _shape(meta, request, granularity, answers, public_id)
    return _noting_withheld(shaped, answers, public_id)


def shape_presence(
    meta: dict[str, Any], answers: list[DatasetAnswer], public_id: Callable[[str], str] = str
) -> dict[str, Any]:
    """The answer to a g_variants request without variant parameters: a result-sets response
    (framework ``beaconResultsetsResponse``) at boolean granularity, one result set per
    dataset answered, whatever ``includeResultsetResponses`` says, each saying whether the
    dataset holds any variant ("at least one", an imprecise 1, or an exact 0), named by its
    public identifier (decision record 0026)."""
    shaped = {
        "meta": meta,
        "responseSummary": {"exists": any(a.exists for a in answers)},
        "response": {"resultSets": [_result_set(a, public_id(a.dataset_id)) for a in answers]},
    }
    return _noting_withheld(shaped, answers, public_id)


def _noting_withheld(
    shaped: dict[str, Any], answers: list[DatasetAnswer], public_id: Callable[[str], str]
) -> dict[str, Any]:
    withheld = {public_id(a.dataset_id): a.withheld for a in answers if a.withheld is not None}
    if withheld:
        shaped["info"] = withheld_info(withheld)
    return shaped


def _shape(
    meta: dict[str, Any],
    request: BeaconRequest,
    granularity: Granularity,
    answers: list[DatasetAnswer],
    public_id: Callable[[str], str],
) -> dict[str, Any]:
    """Every granularity carries result sets (decision record 0030): the GDI portal joins its
    catalogue on ``response.resultSets[].id`` and the Beacon Verifier reads
    ``resultSets[0].id``. Below record granularity they carry no results, and each count is
    the one the summary adds up, so the total is their sum and no difference of shown numbers
    is more exact than the numbers themselves."""
    shown = [a for a in answers if _shown(a, request.resultsets)]
    exists = any(a.exists for a in answers)
    if granularity is Granularity.BOOLEAN:
        sets = [_result_set(_as_presence(a), public_id(a.dataset_id)) for a in shown]
        return {
            "meta": meta,
            "responseSummary": {"exists": exists},
            "response": {"resultSets": sets},
        }
    total = sum(a.count.value for a in answers)
    precise = all(a.count.precision == "exact" for a in answers)
    summary: dict[str, Any] = {"exists": exists, "numTotalResults": total}
    summary["countPrecision"] = "exact" if precise else "imprecise"
    adjusted = sorted({a.count.adjusted_to for a in answers if a.count.adjusted_to is not None})
    if adjusted:  # what the datasets' counts were adjusted to (Beacon v2.2 countAdjustedTo)
        summary["countAdjustedTo"] = adjusted
    if granularity is Granularity.COUNT:
        shown = [_without_records(a) for a in shown]
    return {
        "meta": meta,
        "responseSummary": summary,
        "response": {"resultSets": [_result_set(a, public_id(a.dataset_id)) for a in shown]},
    }


def _as_presence(answer: DatasetAnswer) -> DatasetAnswer:
    """A dataset's answer at boolean granularity: its count says no more than ``exists``
    (an imprecise 1, "at least one", or an exact 0), and it lists no records."""
    count = presence(answer.exists)
    return replace(
        answer, granularity=Granularity.BOOLEAN, count=count, results=[], site_allele_number=None
    )


def _without_records(answer: DatasetAnswer) -> DatasetAnswer:
    """A dataset's answer at count granularity: its count as the summary adds it, no records."""
    level = min(answer.granularity, Granularity.COUNT, key=lambda g: g.rank)
    return replace(answer, granularity=level, results=[])


def _result_set(answer: DatasetAnswer, name: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": name,
        "setType": "dataset",
        "exists": answer.exists,
        "resultsCount": answer.count.value,
        "results": answer.results,
        **answer.count.fields(),
    }
    info: dict[str, Any] = {}
    if answer.granularity is not Granularity.RECORD:
        info["returnedGranularity"] = answer.granularity.value
    if answer.site_allele_number is not None and not answer.exists:
        info["alleleNumberAtSite"] = answer.site_allele_number
    if info:
        result["info"] = info
    return result


def _shown(answer: DatasetAnswer, shown: ResultsetsShown) -> bool:
    if shown is ResultsetsShown.ALL:
        return True
    if shown is ResultsetsShown.NONE:
        return False
    return answer.exists == (shown is ResultsetsShown.HIT)
