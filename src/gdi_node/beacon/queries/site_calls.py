"""How many chromosomes were called at the site of an allele a dataset does not hold, so that
"absent" can be told from "not covered" (decision record 0032): for a sequence query (one
allele at one position), each dataset answered at count or record granularity without a hit
says its allele number at that position (``info.alleleNumberAtSite`` of its result set).

It is said only where the answer's scope is the dataset's consenting samples (no filter, no
population filter, no path narrowing it), and only for a dataset that is not withheld. It
counts callability, not carriers: the allele number a record of the allele would show.
"""

from __future__ import annotations

from dataclasses import replace

from gdi_node.beacon.framework.requests import Granularity, VariantQuery
from gdi_node.beacon.framework.responses import DatasetAnswer
from gdi_node.beacon.queries.alleles import Counter
from gdi_node.beacon.queries.answers import AnswerContext
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.beacon.store.variant_rows import Located, VariantRepository


def with_site_allele_numbers(
    answers: list[DatasetAnswer],
    query: VariantQuery,
    located: Located,
    *,
    contexts: dict[str, AnswerContext],
    scopes: Scopes,
    repo: VariantRepository,
) -> list[DatasetAnswer]:
    """``answers`` with the allele number at the queried site for each dataset answered at
    count or record granularity that has no hit."""
    start = query.start[0]
    missing = [
        a
        for a in answers
        if not a.exists and a.withheld is None and a.granularity.rank >= Granularity.COUNT.rank
    ]
    if not missing:
        return answers
    around = VariantQuery(
        assembly_id=located.assembly, reference_name=located.chrom, start=(start,), end=(start + 1,)
    )
    ids = [a.dataset_id for a in missing]
    rows = repo.find(around, located, ids, [located.assembly], full=False)
    counter = Counter(scopes, repo.carrier_bits, repo.uncalled_at)
    numbers: dict[str, int] = {}
    for dataset_id in ids:
        site = [r for r in rows if r.dataset_id == dataset_id and int(r.start) == start]
        place = (dataset_id, located.assembly, located.chrom)
        scope = contexts[dataset_id].samples(scopes)
        numbers[dataset_id] = counter.called_at(place, start, scope, site)
    return [
        replace(a, site_allele_number=numbers[a.dataset_id]) if a.dataset_id in numbers else a
        for a in answers
    ]
