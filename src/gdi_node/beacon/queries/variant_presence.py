"""The answer to a g_variants request without variant parameters: which datasets hold any
variant, at boolean granularity (the Beacon Verifier v2 and the ELIXIR Beacon Network send
a bare ``GET /g_variants`` and read ``response.resultSets[0].id``; Beacon v2 framework
``beaconResultsetsResponse``, ``ResultsetInstance``).

A dataset "holds a variant" when one of its alleles has a carrier among the samples in
scope: its consenting samples of shown files, narrowed by the request's filters and
population filters like any g_variants answer. Nothing is counted:

- a whole dataset nobody in opted out of and with no file being loaded or removed
  (``Scopes.complete``): the first allele whose stored carrier count is not zero answers;
- otherwise (opt-outs, a load under way, a narrowed scope): the carrier bits of the first
  ``PROBE`` alleles with a stored carrier are read and checked against the scope. Past them
  the answer is false: it may understate, never overstate, what the scope holds.

A narrowed scope of a few people is withheld as in every answer (decision record 0013).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyroaring import BitMap

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.requests import Granularity
from gdi_node.beacon.framework.responses import DatasetAnswer, shape_presence
from gdi_node.beacon.model.precision import presence
from gdi_node.beacon.queries.gate import Answered, Answerer, Decided, Reading
from gdi_node.beacon.queries.small_scopes import SmallScopes
from gdi_node.beacon.queries.variant_answers import restriction
from gdi_node.beacon.store.variant_presence import first_alleles_with_a_carrier
from gdi_node.beacon.store.variant_rows import VariantRepository

G_VARIANT = framework.BY_PATH["g_variants"]
PROBE = 64  # alleles whose carrier bits are read when the stored count cannot answer


class VariantPresence:
    def __init__(self, small_scopes: SmallScopes, labels: Mapping[str, str]) -> None:
        """``labels``: per dataset, its population label (the population filters' subject)."""
        self._small_scopes = small_scopes
        self._labels = dict(labels)

    def answerer(self) -> Answerer:
        """The gate's answerer of a variant-less g_variants request (the gate caps it at
        boolean granularity: ``Operation.ceiling``)."""

        def answer(reading: Reading, decided: Decided) -> Answered | None:
            answers = self.answer(reading, decided)
            if answers is None:
                return None

            def response() -> dict[str, Any]:
                return shape_presence(decided.meta(G_VARIANT), answers, decided.public_id)

            return Answered(0, response)

        return answer

    def answer(self, reading: Reading, decided: Decided) -> list[DatasetAnswer] | None:
        """One boolean answer per dataset; None when the Beacon generation moved while the
        rows were read (decision record 0014: read again on fresh scopes)."""
        scopes = reading.scopes
        narrowed = restriction(reading, decided, None, self._labels)
        withheld: frozenset[str] = frozenset()
        if narrowed is not None:
            counted = {d: samples for d, (_, samples) in narrowed.items()}
            withheld = self._small_scopes.withheld(
                decided.permits,
                people=lambda d: scopes.people_in(d, counted[d]),
                universe=lambda d: scopes.people.get(d, 0),
            )
        repo = VariantRepository(reading.session, scopes.max_span)
        answers = []
        for dataset_id in decided.dataset_ids:
            if narrowed is None:
                scope = scopes.datasets.get(dataset_id, BitMap())
                exact = dataset_id in scopes.complete
            else:
                scope, exact = narrowed[dataset_id][1], False
            held = dataset_id not in withheld and _holds(repo, reading, dataset_id, scope, exact)
            count = presence(held)
            answers.append(DatasetAnswer(dataset_id, Granularity.BOOLEAN, count, []))
        if repo.generation() != scopes.generation:
            return None
        return self._small_scopes.withhold(answers, withheld)


def _holds(
    repo: VariantRepository, reading: Reading, dataset_id: str, scope: BitMap, exact: bool
) -> bool:
    """Whether an allele of ``dataset_id`` has a carrier in ``scope``; ``exact``: the stored
    carrier counts are those of the scope (a whole, complete dataset)."""
    if not scope:
        return False
    ids = first_alleles_with_a_carrier(reading.session, dataset_id, 1 if exact else PROBE)
    if exact:
        return bool(ids)
    bits = repo.carrier_bits(ids)
    return any(not (b.one_copy | b.two_copies).isdisjoint(scope) for b in bits.values())
