"""Honest small counts (decision record 0017): for callers without a grant a count from 1 to
threshold - 1 is reported as an upper bound of at most threshold - 1, never below the truth and
never breaking what the exact counts obey (AC <= AN, homozygotes <= AC / 2, AF in [0, 1]); the
frequency built from a bound is an upper bound; the fields that are bounds are named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.precision import EXACT, CountPolicy, Reported
from gdi_node.beacon.queries.alleles import InconsistentCountsError, population_frequency

POLICY = CountPolicy(threshold=5)


@st.composite
def allele_counts(draw: st.DrawFn) -> AlleleCounts:
    """Counts some genotypes could produce: het and hom carriers among the diploid called,
    hemizygous carriers among the haploid called (XY, outside the PARs: decision record
    0023)."""
    het = draw(st.integers(0, 12))
    hom = draw(st.integers(0, 12))
    hemi = draw(st.integers(0, 12))
    called = draw(st.integers(het + hom, het + hom + 40))
    haploid = draw(st.integers(hemi, hemi + 20))
    return AlleleCounts(het + 2 * hom + hemi, 2 * called + haploid, het + hom + hemi, hom, hemi)


def test_zero_is_exact_and_a_count_at_the_threshold_is_exact() -> None:
    assert POLICY.report(0) == Reported(0, "exact")
    assert POLICY.report(5) == Reported(5, "exact")


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_a_small_count_is_reported_as_at_most_threshold_minus_one(count: int) -> None:
    assert POLICY.report(count) == Reported(4, "imprecise", 4)
    assert POLICY.report(count, cap=3 if count <= 3 else 4).value >= count  # never below it


def test_a_count_above_its_cap_is_an_error() -> None:
    with pytest.raises(ValueError, match="above its cap"):
        POLICY.report(3, cap=2)


def test_the_four_file_case_never_reports_a_frequency_above_one() -> None:
    # the case as counted today: one het and one hom carrier, AN 4 (AC 3)
    item = population_frequency("DS", AlleleCounts(3, 4, 2, 1), POLICY)
    assert (item["alleleCount"], item["alleleNumber"]) == (4, 4)  # at most 4 of 4
    assert item["alleleFrequency"] == 1.0
    assert item["alleleCountHomozygous"] == 2  # at most half the allele count shown, not 5
    assert item["alleleCountHeterozygous"] == 4  # at most the allele count shown
    assert item["upperBounds"] == [
        "alleleCount", "alleleFrequency", "alleleCountHomozygous", "alleleCountHeterozygous"
    ]  # fmt: skip
    assert (item["countPrecision"], item["countAdjustedTo"]) == ("imprecise", [4])


def test_exact_counts_carry_no_precision_fields() -> None:
    item = population_frequency("DS", AlleleCounts(3, 4, 2, 1), EXACT)
    assert item == {
        "population": "DS",
        "alleleFrequency": 0.75,
        "alleleCount": 3,
        "alleleNumber": 4,
        "alleleCountHomozygous": 1,
        "alleleCountHeterozygous": 1,
        "alleleCountHemizygous": 0,
    }


def test_heterozygotes_next_to_bounded_homozygotes_are_a_lower_bound() -> None:
    # AC 12 exact, 2 homozygotes (at most 4 shown), 8 heterozygotes: 12 - 2 * 4 = at least 4
    item = population_frequency("DS", AlleleCounts(12, 40, 10, 2), POLICY)
    assert (item["alleleCount"], item["alleleCountHomozygous"]) == (12, 4)
    assert item["alleleCountHeterozygous"] == 4
    assert item["upperBounds"] == ["alleleCountHomozygous"]
    assert item["lowerBounds"] == ["alleleCountHeterozygous"]
    assert (item["countPrecision"], item["countAdjustedTo"]) == ("imprecise", [4])
    # exact for a grant holder
    granted = population_frequency("DS", AlleleCounts(12, 40, 10, 2), EXACT)
    assert (granted["alleleCountHomozygous"], granted["alleleCountHeterozygous"]) == (2, 8)


def test_a_small_heterozygous_count_next_to_exact_counts_is_bounded_and_homozygotes_at_least() -> (
    None
):
    # AC 12 and 5 homozygotes exact would give 2 heterozygotes away: het at most 4, so at least
    # (12 - 4) / 2 = 4 homozygotes
    item = population_frequency("DS", AlleleCounts(12, 40, 7, 5), POLICY)
    assert item["alleleCount"] == 12
    assert (item["alleleCountHeterozygous"], item["alleleCountHomozygous"]) == (4, 4)
    assert item["upperBounds"] == ["alleleCountHeterozygous"]
    assert item["lowerBounds"] == ["alleleCountHomozygous"]
    assert (item["countPrecision"], item["countAdjustedTo"]) == ("imprecise", [4])


def test_inconsistent_counts_are_an_error_never_a_number() -> None:
    with pytest.raises(InconsistentCountsError, match="AC 5, AN 4"):
        population_frequency("DS", AlleleCounts(5, 4, 3, 1), POLICY)


@given(allele_counts(), st.sampled_from([1, 2, 5, 10]), st.sampled_from([1, 10]))
def test_reported_counts_are_bounds_that_keep_the_invariants(
    counts: AlleleCounts, threshold: int, rounding: int
) -> None:
    item = population_frequency("DS", counts, CountPolicy(threshold, rounding))
    ac, an, hom = item["alleleCount"], item["alleleNumber"], item["alleleCountHomozygous"]
    assert an == counts.allele_number  # always exact
    assert hom >= 0
    assert 0 <= ac <= an
    if rounding == 1:  # rounding may take the allele count below twice the homozygotes
        assert 2 * hom <= ac
    assert 0 <= item["alleleFrequency"] <= 1
    bounds = item.get("upperBounds", [])
    people = (("alleleCount", counts.allele_count), ("alleleCountHomozygous", counts.homozygous),
              ("alleleCountHemizygous", counts.hemizygous))  # fmt: skip
    for field, true in people:
        if field in bounds:
            assert true < threshold
            assert true <= item[field] <= threshold - 1
        elif field in item.get("lowerBounds", []):
            assert item[field] <= true
        elif rounding == 1:
            assert item[field] == true
    if "alleleFrequency" in bounds:
        assert item["alleleFrequency"] >= counts.allele_count / counts.allele_number
    het, true_het = item["alleleCountHeterozygous"], counts.heterozygous
    hemi = item["alleleCountHemizygous"]
    if "alleleCountHeterozygous" in item.get("lowerBounds", []):
        assert 0 <= het <= true_het  # only hom/hemi bounded: an exact het would reveal them
        assert het == max(0, ac - 2 * hom - hemi)
    elif "alleleCountHeterozygous" in bounds:
        assert true_het <= het <= ac or rounding > 1
    elif rounding == 1:
        assert het == true_het
    if not bounds and rounding == 1:
        assert "countPrecision" not in item
    if rounding == 1 and threshold > 1:  # no exact count of people is small (1 to t - 1)
        exact = [f for f in ("alleleCount", "alleleCountHomozygous", "alleleCountHeterozygous",
                             "alleleCountHemizygous")
                 if f not in bounds and f not in item.get("lowerBounds", [])]  # fmt: skip
        truth = {"alleleCount": counts.allele_count, "alleleCountHomozygous": counts.homozygous,
                 "alleleCountHeterozygous": true_het,
                 "alleleCountHemizygous": counts.hemizygous}  # fmt: skip
        assert all(not 0 < truth[f] < threshold for f in exact), item
