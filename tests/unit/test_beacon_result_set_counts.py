"""Result sets at count and boolean granularity (decision record 0030), shaped from random
per-dataset counts: no difference of the numbers shown (the total and any result sets) is a
small count shown as exact, a result set's count is the one the summary adds up, and a boolean
result set says nothing beyond ``exists``."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gdi_node.beacon.framework.documents import BY_PATH
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity, ResultsetsShown
from gdi_node.beacon.framework.responses import DatasetAnswer, response_meta, shape_g_variants
from gdi_node.beacon.model.precision import CountPolicy

THRESHOLD = 5


def shaped(true_counts: list[int], granted: list[bool], granularity: Granularity) -> Any:
    """The response over datasets D0, D1, … each counted under the policy of a caller holding
    a grant for it (exact) or not (small counts bounded, decision record 0017)."""
    answers = []
    for n, (count, grant) in enumerate(zip(true_counts, granted, strict=True)):
        policy = CountPolicy() if grant else CountPolicy(threshold=THRESHOLD)
        answers.append(DatasetAnswer(f"D{n}", granularity, policy.report(count), []))
    request = BeaconRequest(granularity, resultsets=ResultsetsShown.ALL)
    meta = response_meta("test.beacon", request, BY_PATH["individuals"], granularity)
    return shape_g_variants(meta, request, granularity, answers, lambda d: f"ID-{d}")


COUNTS = st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_no_difference_of_shown_counts_reveals_a_small_count_without_a_grant(
    data: st.DataObject,
) -> None:
    true_counts = data.draw(COUNTS)
    size = len(true_counts)
    granted = data.draw(st.lists(st.booleans(), min_size=size, max_size=size))
    document = shaped(true_counts, granted, Granularity.COUNT)
    sets = document["response"]["resultSets"]
    summary = document["responseSummary"]
    assert [s["id"] for s in sets] == [f"ID-D{n}" for n in range(len(true_counts))]
    assert summary["numTotalResults"] == sum(s["resultsCount"] for s in sets)
    # the total minus any group of result sets is the sum of the others, as shown
    for size in range(1, len(sets) + 1):
        for left_out in combinations(range(len(sets)), size):
            derived = summary["numTotalResults"] - sum(sets[i]["resultsCount"] for i in left_out)
            rest = [n for n in range(len(sets)) if n not in left_out]
            assert derived == sum(sets[n]["resultsCount"] for n in rest)
            truth = sum(true_counts[n] for n in rest)
            hidden = [n for n in rest if not granted[n] and 0 < true_counts[n] < THRESHOLD]
            if hidden:  # a small count of a dataset the caller holds no grant for
                assert derived != truth or all(true_counts[n] == THRESHOLD - 1 for n in hidden), (
                    "a bound read as the count"
                )
                assert summary["countPrecision"] == "imprecise"
                assert any(sets[n]["countPrecision"] == "imprecise" for n in rest)
    for n, shown in enumerate(sets):
        assert shown["results"] == []
        small = 0 < true_counts[n] < THRESHOLD and not granted[n]
        if small:
            assert shown["resultsCount"] == THRESHOLD - 1
            assert shown["countAdjustedTo"] == [THRESHOLD - 1]
        assert shown["resultsCount"] >= true_counts[n]  # never below the truth
        assert shown["countPrecision"] == ("imprecise" if small else "exact")


@settings(max_examples=100, deadline=None)
@given(true_counts=COUNTS)
def test_a_boolean_result_set_reveals_only_whether_the_dataset_matched(
    true_counts: list[int],
) -> None:
    document = shaped(true_counts, [True] * len(true_counts), Granularity.BOOLEAN)
    assert document["responseSummary"] == {"exists": any(true_counts)}
    for count, shown in zip(true_counts, document["response"]["resultSets"], strict=True):
        assert shown["exists"] is (count > 0)
        expected = (1, "imprecise", [1]) if count else (0, "exact", None)
        assert (
            shown["resultsCount"],
            shown["countPrecision"],
            shown.get("countAdjustedTo"),
        ) == expected
        assert shown["results"] == []
        assert shown["info"] == {"returnedGranularity": "boolean"}
