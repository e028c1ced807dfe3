"""One allele's frequencies summed over several answers (the hub's opaque answer, decision
record 0031): the Beacon v2 ``frequencyInPopulations`` items of the same population label are
added up, field by field, and the frequency is computed again from the sums.

Each member reported its own counts under its own rules (decision record 0017): a small count
is an upper bound (``upperBounds``), a heterozygous count next to a bounded homozygous one a
lower bound (``lowerBounds``), a rounded count a multiple of its rounding. A sum is an upper
bound when any part is one and none is a lower bound, a lower bound in the mirror case; when a
field has parts bounded in both directions its sum bounds nothing and the field is left out
(``unstatedFields`` names it) rather than shown as if counted. The merged item's
``countPrecision`` is the least precise of its parts', ``countAdjustedTo`` every adjustment
used. A frequency from an upper-bound allele count is an upper bound, rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gdi_node.beacon.model.precision import PRECISIONS

COUNT_FIELDS = (
    "alleleCount",
    "alleleNumber",
    "alleleCountHomozygous",
    "alleleCountHeterozygous",
    "alleleCountHemizygous",
)


def merged_items(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The frequency items of every ``frequencyInPopulations`` entry of ``records`` (the same
    allele as several answers gave it), one per population label, summed. Labels keep the
    order the answers give them; a label some answer lists last (the whole scope's item, which
    the older GDI portal reads) stays after the others."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    from_end: dict[str, int] = {}
    for record in records:
        for source in record.get("frequencyInPopulations") or ():
            items = [i for i in source.get("frequencies") or () if isinstance(i, dict)]
            for position, item in enumerate(items):
                label = str(item.get("population", ""))
                by_label.setdefault(label, []).append(item)
                distance = len(items) - 1 - position
                from_end[label] = min(from_end.get(label, distance), distance)
    order = sorted(by_label, key=lambda label: -from_end[label])
    return [_summed(label, by_label[label]) for label in order]


def _summed(label: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"population": label}
    upper: list[str] = []
    lower: list[str] = []
    unstated: list[str] = []
    for name in COUNT_FIELDS:
        values = [i.get(name) for i in items]
        if any(not isinstance(v, int) for v in values):
            if any(isinstance(v, int) for v in values):
                unstated.append(name)  # some parts do not report it: no total to give
            continue
        up = any(name in (i.get("upperBounds") or ()) for i in items)
        down = any(name in (i.get("lowerBounds") or ()) for i in items)
        if up and down:
            unstated.append(name)
            continue
        merged[name] = sum(v for v in values if isinstance(v, int))
        if up:
            upper.append(name)
        if down:
            lower.append(name)
    count, number = merged.get("alleleCount"), merged.get("alleleNumber")
    if isinstance(count, int) and isinstance(number, int) and number > 0:
        frequency = count / number
        bound = "alleleCount" in upper
        merged["alleleFrequency"] = (
            math.ceil(frequency * 1e8) / 1e8 if bound else round(frequency, 8)
        )
        if bound:
            upper.append("alleleFrequency")
    precision = least_precise(items, bounded=bool(upper or lower or unstated))
    if precision["countPrecision"] != "exact":
        merged.update(precision)
    named = {"upperBounds": upper, "lowerBounds": lower, "unstatedFields": unstated}
    merged.update({key: fields for key, fields in named.items() if fields})
    return merged


def least_precise(parts: Iterable[Mapping[str, Any]], *, bounded: bool = False) -> dict[str, Any]:
    """``countPrecision`` of counts combined from ``parts`` (result sets, summaries, frequency
    items): the least precise part's, an unknown precision taken as imprecise, and imprecise
    when ``bounded`` (a combined field is a bound); ``countAdjustedTo``: every part's."""
    parts = list(parts)
    named = (str(p.get("countPrecision", "exact")) for p in parts)
    known = [n if n in PRECISIONS else "imprecise" for n in named]
    precision = max(known, key=PRECISIONS.index, default="exact")
    if precision == "exact" and bounded:
        precision = "imprecise"
    fields: dict[str, Any] = {"countPrecision": precision}
    adjusted = sorted(
        {a for p in parts for a in p.get("countAdjustedTo") or () if isinstance(a, int)}
    )
    if adjusted:
        fields["countAdjustedTo"] = adjusted
    return fields
