"""A hub's Beacon answer from its own answer and its members' (decision record 0031).

Every part (the hub's own answer and each member's) was asked with
``includeResultsetResponses: ALL``, so each lists a result set for every dataset it answered;
the caller's own choice (HIT, MISS, ALL, NONE) is applied to the combined answer here.

- **Transparent**: every part's result sets, a member's named ``<member id>:<set id>`` and
  carrying the member (id, name, region) in their ``info``; the response's granularity is the
  best any part answered at, each set below record granularity says its own.
- **Opaque**: one national result set at the best granularity any result set was answered
  at. The sets answered at it are summed: counts added, records of the same variant merged
  and their frequencies summed per population label
  (gdi_node.beacon.framework.merged_frequencies). A set answered below it (a controlled
  dataset an anonymous caller sees as a boolean) adds only its existence, and
  ``info.federation.notSummed`` counts such sets per granularity. Nothing says which part
  holds what.

Both list, under ``info.federation``, each member's outcome, and the members that are missing
(timed out, failed, refused, answered something invalid, skipped by an open circuit) with the
reason; a "not found" with members missing says so in ``info.federation.message``.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gdi_node.beacon.framework.merged_frequencies import least_precise, merged_items
from gdi_node.beacon.framework.requests import Granularity, ResultsetsShown


@dataclass(frozen=True)
class Part:
    """One answer combined: the hub's own (``member_id`` None) or a member's."""

    document: dict[str, Any]
    member_id: str | None = None
    member_name: str = ""
    region: str = ""

    @property
    def sets(self) -> list[dict[str, Any]]:
        sets = (self.document.get("response") or {}).get("resultSets") or []
        return [s for s in sets if isinstance(s, dict)]

    @property
    def granularity(self) -> Granularity:
        value = (self.document.get("meta") or {}).get("returnedGranularity", "boolean")
        return Granularity(value) if value in set(Granularity) else Granularity.BOOLEAN

    @property
    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = self.document.get("responseSummary") or {}
        return summary


@dataclass(frozen=True)
class Combination:
    """How to combine: ``shown`` is the caller's includeResultsetResponses; ``statuses`` each
    member's outcome entry, ``missing`` those of members whose answer is not in the parts."""

    shown: ResultsetsShown
    statuses: Sequence[dict[str, Any]] = ()
    missing: Sequence[dict[str, Any]] = ()
    merge_records: bool = True  # g_variants: one record per variant; other entries: listed
    national_id: str = "national"
    national_name: str = "national"
    national_reference: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def transparent(own: Part, members: Sequence[Part], how: Combination) -> dict[str, Any]:
    parts = [own, *members]
    answering = [p for p in parts if p.sets] or [own]
    level = max((p.granularity for p in answering), key=lambda g: g.rank)
    sets = []
    for part in parts:
        for result_set in part.sets:
            sets.append(_member_set(result_set, part) if part.member_id else result_set)
    document = _frame(own, level, how)
    document["responseSummary"] = _summary(answering, level)
    document["response"] = {"resultSets": [s for s in sets if _shown(s, how.shown)]}
    return _with_federation(document, "transparent", how)


def opaque(own: Part, members: Sequence[Part], how: Combination) -> dict[str, Any]:
    """One national result set at the best granularity any result set was answered at,
    summed from the sets answered at it; sets answered below it (a controlled dataset an
    anonymous caller sees as a boolean) add only their existence, and ``info.federation``
    says how many were left out of the sums, not whose."""
    leveled = [(s, _set_level(s, p)) for p in (own, *members) for s in p.sets]
    level = max((lv for _, lv in leveled), key=lambda g: g.rank, default=own.granularity)
    counted = [s for s, lv in leveled if lv is level]
    exists = any(s.get("exists") is True for s, _ in leveled)
    national: dict[str, Any] = {"id": how.national_id, "setType": "dataset", "exists": exists}
    summary: dict[str, Any] = {"exists": exists}
    if level is Granularity.BOOLEAN:
        national["resultsCount"] = 1 if exists else 0
        national["countPrecision"] = "imprecise" if exists else "exact"
        if exists:
            national["countAdjustedTo"] = [1]
    else:
        counts = _summed_counts(counted)
        national.update(counts)
        summary.update({"numTotalResults": counts["resultsCount"]})
        summary.update({k: v for k, v in counts.items() if k.startswith("count")})
    records = [r for s in counted for r in s.get("results") or ()]
    if level is not Granularity.RECORD:
        national["results"] = []
        national["info"] = {"returnedGranularity": level.value}
    elif how.merge_records:
        national["results"] = _merged_variants(records, how)
    else:
        national["results"] = copy.deepcopy(records)
    document = _frame(own, level, how)
    document["responseSummary"] = summary
    document["response"] = {"resultSets": [national] if _shown(national, how.shown) else []}
    left_out = Counter(lv.value for _, lv in leveled if lv is not level)
    return _with_federation(document, "opaque", how, dict(sorted(left_out.items())))


def _set_level(result_set: dict[str, Any], part: Part) -> Granularity:
    """The granularity one result set was answered at: its own ``info.returnedGranularity``
    when it states one (below the response's), else its answer's."""
    stated = (result_set.get("info") or {}).get("returnedGranularity")
    return Granularity(stated) if stated in set(Granularity) else part.granularity


def _summed_counts(sets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``resultsCount`` summed over ``sets``, as precise as the least precise of them."""
    counts: dict[str, Any] = {
        "resultsCount": sum(
            s["resultsCount"] for s in sets if isinstance(s.get("resultsCount"), int)
        )
    }
    counts.update(least_precise(sets))
    return counts


def _frame(own: Part, level: Granularity, how: Combination) -> dict[str, Any]:
    meta = copy.deepcopy(own.document.get("meta") or {})
    meta["returnedGranularity"] = level.value
    received = meta.get("receivedRequestSummary")
    if isinstance(received, dict):
        received["includeResultsetResponses"] = how.shown.value
    document: dict[str, Any] = {"meta": meta}
    if own.document.get("info") or how.info:
        document["info"] = {**copy.deepcopy(own.document.get("info") or {}), **how.info}
    return document


def _summary(parts: Sequence[Part], level: Granularity) -> dict[str, Any]:
    """Exists if any part found something; at count or record granularity the sum of the
    parts' totals, as precise as the least precise of them."""
    summary: dict[str, Any] = {"exists": any(p.summary.get("exists") is True for p in parts)}
    if level is Granularity.BOOLEAN:
        return summary
    totals = [p.summary.get("numTotalResults") for p in parts]
    summary["numTotalResults"] = sum(t for t in totals if isinstance(t, int))
    summary.update(least_precise(p.summary for p in parts))
    return summary


def _member_set(result_set: dict[str, Any], part: Part) -> dict[str, Any]:
    """A member's result set as the hub lists it: named after the member, saying whose."""
    named = copy.deepcopy(result_set)
    named["id"] = f"{part.member_id}:{result_set.get('id', '')}"
    info = dict(named.get("info") or {})
    info["member"] = {"id": part.member_id, "name": part.member_name, "region": part.region}
    if part.granularity is not Granularity.RECORD:
        info.setdefault("returnedGranularity", part.granularity.value)
    named["info"] = info
    return named


def _merged_variants(records: list[dict[str, Any]], how: Combination) -> list[dict[str, Any]]:
    """One record per variant (same ``variation``, else same ``variantInternalId``), its
    frequencies summed per population label under the hub's name."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        variation = record.get("variation")
        key = (
            json.dumps(variation, sort_keys=True)
            if variation
            else str(record.get("variantInternalId"))
        )
        groups.setdefault(key, []).append(record)
    merged = []
    for same in groups.values():
        record = {k: copy.deepcopy(v) for k, v in same[0].items() if k != "frequencyInPopulations"}
        items = merged_items(same)
        if items:
            record["frequencyInPopulations"] = [
                {
                    "source": how.national_name,
                    "sourceReference": how.national_reference,
                    "frequencies": items,
                }
            ]
        merged.append(record)
    return merged


def _with_federation(
    document: dict[str, Any],
    mode: str,
    how: Combination,
    left_out: dict[str, int] | None = None,
) -> dict[str, Any]:
    federation: dict[str, Any] = {
        "mode": mode,
        "complete": not how.missing,
        "members": list(how.statuses),
    }
    if left_out:  # result sets answered below the national answer's granularity, per level
        federation["notSummed"] = left_out
    if how.missing:
        federation["missing"] = list(how.missing)
        names = ", ".join(m["memberId"] for m in how.missing)
        found = document["responseSummary"]["exists"]
        federation["message"] = (
            f"found among the answers received; {len(how.missing)} member(s) did not answer:"
            f" {names}"
            if found
            else f"not found among the answers received; {len(how.missing)} member(s) did not"
            f" answer, so it may exist there: {names}"
        )
    document["info"] = {**document.get("info", {}), "federation": federation}
    return document


def _shown(result_set: dict[str, Any], shown: ResultsetsShown) -> bool:
    if shown is ResultsetsShown.ALL:
        return True
    if shown is ResultsetsShown.NONE:
        return False
    return bool(result_set.get("exists")) == (shown is ResultsetsShown.HIT)
