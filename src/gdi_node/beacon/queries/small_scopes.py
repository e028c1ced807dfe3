"""Small query scopes (decision record 0013): below record permission, a query narrowed to a
few people is answered as if nothing were known.

A query's *scope* in a dataset is the set of people it is restricted to, however that is
built: a path (``/individuals/{id}/g_variants``, ``/biosamples/{id}/runs``,
``/cohorts/{id}/individuals``, ``/individuals/{id}``), filters (an id, a term only a few
people have, common terms whose intersection is small) or both. An aggregate over one person
is that person's data, and so is the difference between the whole dataset's answer and a
scope that leaves one person out. So a narrowed scope is answered for a caller without
record permission for the dataset only when it holds at least ``threshold`` people and
leaves out at least ``threshold`` of the people the dataset holds (query-set-size control);
otherwise that dataset answers exactly as an empty scope would (exists false, count 0, no
records, nothing for the budget to charge as rare), and the response says it was withheld.

What this reveals: one bit per dataset, "the scope is outside [threshold, people -
threshold]", and never which side. That is what the answers already show: under this rule an
entry count of that scope is 0 or at least the threshold, its boolean answer false or true.
Zero counts as small (else ``id:=X`` would tell whether X is in the dataset), and a scope of
everyone counts as leaving out fewer than the threshold (else ``id:!X`` would). Whole
datasets (no filter, no path) are not narrowed and are answered as before; a threshold of 1
(exact counts) turns the rule off, as it turns off imprecise counts.

Beacon v2 framework: a dataset answers at ``min(requestedGranularity, its permit)``
(``beaconRequestBody``, ``beaconResponseMeta.returnedGranularity``); the note goes in the
response's ``info`` (``beaconBooleanResponse``, ``beaconCountResponse``,
``beaconResultsetsResponse``: "Additional details that could be of interest").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from gdi_node.beacon.framework.responses import DatasetAnswer
from gdi_node.beacon.model.precision import NONE
from gdi_node.beacon.store.entry_rows import EntryRef
from gdi_node.config.trust import Disclosure
from gdi_node.passport.permits import Permit


class SmallScopes:
    def __init__(self, threshold: int) -> None:
        self._threshold = threshold
        self.reason = (
            f"the query's scope holds fewer than {threshold} of this dataset's people, or leaves"
            f" out fewer than {threshold} of them: it is answered as if nothing were known;"
            " answers about so few people need record access to the dataset"
        )

    def withheld(
        self,
        permits: Mapping[str, Permit],
        people: Callable[[str], int],
        universe: Callable[[str], int],
    ) -> frozenset[str]:
        """The datasets whose narrowed scope may not be answered: the caller lacks record
        permission, and the scope (``people(dataset)`` people of the ``universe(dataset)`` the
        scope is drawn from) is under the threshold or leaves out fewer than it. Both are
        called only for datasets without record permission, ``universe`` only when needed."""
        threshold = self._threshold
        if threshold <= 1:
            return frozenset()
        out = set()
        for dataset_id, permit in permits.items():
            if permit.allows(Disclosure.RECORD):
                continue
            size = people(dataset_id)
            if size < threshold or universe(dataset_id) - size < threshold:
                out.add(dataset_id)
        return frozenset(out)

    def withhold(
        self, answers: list[DatasetAnswer], withheld: frozenset[str]
    ) -> list[DatasetAnswer]:
        """``answers`` with those of the ``withheld`` datasets replaced by an empty scope's."""
        return [
            DatasetAnswer(a.dataset_id, a.granularity, NONE, [], 0, self.reason)
            if a.dataset_id in withheld
            else a
            for a in answers
        ]


def people_of(refs: Iterable[EntryRef]) -> int:
    """How many people records belong to (a record linked to nobody counts as one)."""
    people: set[object] = set()
    for ref in refs:
        if ref.individual_id is not None:
            people.add(ref.individual_id)
        elif ref.entry_type == "individual":
            people.add(ref.entry_id)
        else:
            people.add((ref.entry_type, ref.entry_id))
    return len(people)
