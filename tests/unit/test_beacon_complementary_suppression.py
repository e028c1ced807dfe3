"""Complementary suppression (decision record 0022): no small count can be recovered by
subtracting one exact item from another, and the same cells decide in every answer."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.complements import cells, is_safe
from gdi_node.beacon.queries.item_release import item_release

THRESHOLD = 5


def counts_of(copies: dict[int, int]) -> Callable[[BitMap], AlleleCounts]:
    """An allele's counts in a set of samples, from each sample's copies (0, 1 or 2)."""

    def counts_in(members: BitMap) -> AlleleCounts:
        held = [copies[s] for s in members]
        carriers = sum(1 for c in held if c)
        homozygous = sum(1 for c in held if c == 2)
        return AlleleCounts(sum(held), 2 * len(held), carriers, homozygous)

    return counts_in


def test_cells_cut_the_universe_by_membership_and_cover_it_once() -> None:
    universe = BitMap(range(10))
    women, danes = BitMap([0, 1, 2, 3, 4]), BitMap([3, 4, 5, 6])
    found = sorted(sorted(c) for c in cells(universe, [women, danes]))
    assert found == [[0, 1, 2], [3, 4], [5, 6], [7, 8, 9]]
    assert cells(BitMap(), [women]) == []


def test_a_count_is_safe_when_zero_or_at_least_the_threshold_in_every_people_field() -> None:
    assert is_safe(AlleleCounts(0, 10, 0, 0), THRESHOLD)
    assert is_safe(AlleleCounts(10, 40, 5, 5), THRESHOLD)
    assert not is_safe(AlleleCounts(3, 40, 3, 0), THRESHOLD)  # three heterozygotes
    assert not is_safe(AlleleCounts(12, 40, 8, 4), THRESHOLD)  # four homozygotes
    assert not is_safe(AlleleCounts(12, 40, 7, 5), THRESHOLD)  # two heterozygotes


def test_a_small_count_one_sex_would_give_away_by_subtraction_leaves_both_sexes_out() -> None:
    """Dataset AC 12 exact, men AC 10: the women's 2 would follow; so neither sex is shown."""
    women, men = BitMap(range(8)), BitMap(range(8, 16))
    copies = dict.fromkeys(range(16), 0) | {0: 1, 1: 1} | dict.fromkeys(range(8, 16), 1)
    counts_in = counts_of(copies)
    release = item_release(
        THRESHOLD, women | men, [women, men], narrowing=None, population_narrows=False
    )
    assert not release.groups_shown(counts_in)
    assert release.main_shown(counts_in)  # the dataset: always shown
    by_sex = item_release(
        THRESHOLD, women | men, [women, men], narrowing=None, population_narrows=True
    )
    assert not by_sex.main_shown(counts_in)  # sexFilter: the same cells


def test_a_narrowed_answer_is_left_out_when_what_it_leaves_out_is_small() -> None:
    universe = BitMap(range(20))
    copies = dict.fromkeys(range(20), 1)  # everyone a carrier
    counts_in = counts_of(copies)
    kept = BitMap(range(17))  # a filter keeps 17: the dataset's 20 minus these gives 3
    release = item_release(THRESHOLD, universe, [], narrowing=kept, population_narrows=False)
    assert not release.main_shown(counts_in)
    kept = BitMap(range(10))
    release = item_release(THRESHOLD, universe, [], narrowing=kept, population_narrows=False)
    assert release.main_shown(counts_in)


def test_a_grant_sees_every_item() -> None:
    universe = BitMap(range(4))
    release = item_release(1, universe, [BitMap([0])], narrowing=None, population_narrows=True)
    counts_in = counts_of({0: 1, 1: 0, 2: 0, 3: 2})
    assert release.groups_shown(counts_in)
    assert release.main_shown(counts_in)


samples_st = st.integers(min_value=8, max_value=40)


@settings(max_examples=300, deadline=None)
@given(
    size=samples_st,
    data=st.data(),
)
def test_no_difference_of_two_items_shown_exact_is_a_small_count(
    size: int, data: st.DataObject
) -> None:
    """Whatever the genotypes and groups: when the group items are shown, every difference
    of two shown sets (the dataset included), nested or not, counts 0 or at least the
    threshold in every field, so subtraction recovers nothing small."""
    universe = BitMap(range(size))
    copies = {s: data.draw(st.sampled_from([0, 0, 0, 1, 1, 2])) for s in range(size)}
    groups = [
        BitMap(s for s in range(size) if data.draw(st.booleans()))
        for _ in range(data.draw(st.integers(min_value=1, max_value=3)))
    ]
    counts_in = counts_of(copies)
    release = item_release(THRESHOLD, universe, groups, narrowing=None, population_narrows=False)
    if not release.groups_shown(counts_in):
        return
    shown = [universe, *groups]
    # a set built by intersecting and subtracting shown sets is a union of cells
    for first, second in combinations(shown, 2):
        for part in (first - second, second - first, first & second):
            assert is_safe(counts_in(part), THRESHOLD)
