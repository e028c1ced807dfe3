"""Frequencies summed across a hub's members (decision record 0031): sums are as honest as their
parts: a bound stays a bound, a field bounded both ways is left out, never shown as counted."""

from __future__ import annotations

from typing import Any

from gdi_node.beacon.framework.merged_frequencies import merged_items


def record(*items: dict[str, Any]) -> dict[str, Any]:
    return {"frequencyInPopulations": [{"source": "x", "frequencies": list(items)}]}


def item(
    label: str, ac: int, an: int, hom: int = 0, het: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "population": label,
        "alleleCount": ac,
        "alleleNumber": an,
        "alleleCountHomozygous": hom,
        "alleleCountHeterozygous": ac - 2 * hom if het is None else het,
        "alleleCountHemizygous": 0,
        "alleleFrequency": ac / an,
        **extra,
    }


def test_exact_parts_sum_to_an_exact_item_with_the_frequency_computed_again() -> None:
    (merged,) = merged_items([record(item("DK", 5, 16, hom=1)), record(item("DK", 9, 16, hom=2))])
    assert merged == {
        "population": "DK",
        "alleleCount": 14,
        "alleleNumber": 32,
        "alleleCountHomozygous": 3,
        "alleleCountHeterozygous": 8,
        "alleleCountHemizygous": 0,
        "alleleFrequency": 0.4375,
    }


def test_an_upper_bound_part_makes_the_sum_and_its_frequency_upper_bounds_rounded_up() -> None:
    bounded = item(
        "DK", 4, 3000, countPrecision="imprecise", countAdjustedTo=[4],
        upperBounds=["alleleCount", "alleleFrequency"],
    )  # fmt: skip
    (merged,) = merged_items([record(bounded), record(item("DK", 0, 3000))])
    assert merged["alleleCount"] == 4
    assert merged["alleleFrequency"] == 0.00066667  # 4 / 6000 = 0.000666..., rounded up
    assert merged["upperBounds"] == ["alleleCount", "alleleFrequency"]
    assert merged["countPrecision"] == "imprecise"
    assert merged["countAdjustedTo"] == [4]


def test_a_field_bounded_above_in_one_part_and_below_in_another_is_left_out() -> None:
    upper = item("DK", 10, 40, hom=4, het=2, countPrecision="imprecise", countAdjustedTo=[4],
                 upperBounds=["alleleCountHeterozygous"])  # fmt: skip
    lower = item("DK", 10, 40, hom=4, het=2, countPrecision="imprecise", countAdjustedTo=[4],
                 lowerBounds=["alleleCountHeterozygous"])  # fmt: skip
    (merged,) = merged_items([record(upper), record(lower)])
    assert "alleleCountHeterozygous" not in merged
    assert merged["unstatedFields"] == ["alleleCountHeterozygous"]
    assert merged["alleleCount"] == 20


def test_a_field_some_parts_do_not_report_is_left_out_rather_than_summed_from_the_others() -> None:
    partial = item("DK", 6, 20)
    del partial["alleleCountHemizygous"]
    (merged,) = merged_items([record(partial), record(item("DK", 6, 20))])
    assert "alleleCountHemizygous" not in merged
    assert merged["unstatedFields"] == ["alleleCountHemizygous"]
    assert merged["countPrecision"] == "imprecise"


def test_labels_are_summed_apart_and_a_label_some_answer_lists_last_stays_last() -> None:
    first = record(item("DK_F", 2, 10), item("DK_M", 3, 10), item("DK", 5, 20))
    second = record(item("DK_F", 7, 10), item("DK", 7, 20))
    merged = merged_items([second, first])
    assert [m["population"] for m in merged] == ["DK_F", "DK_M", "DK"]
    assert {m["population"]: m["alleleCount"] for m in merged} == {"DK_F": 9, "DK_M": 3, "DK": 12}
