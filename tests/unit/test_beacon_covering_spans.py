"""The bits counted at a position of a place whose files speak only for their spans
(gdi_node.beacon.model.spans.CoveringSpans): exactly those with start <= position < end, as a
scan of every span finds them, whether each bit has one span or several."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pyroaring import BitMap

from gdi_node.beacon.model.spans import CoveringSpans

_SPAN = st.tuples(st.integers(0, 60), st.integers(1, 60)).map(lambda s: (s[0], s[0] + s[1]))


def _scanned(spans: list[tuple[int, int, int]], position: int) -> BitMap:
    return BitMap(bit for start, end, bit in spans if start <= position < end)


@given(st.lists(_SPAN, max_size=40), st.integers(-1, 125))
def test_the_bits_covering_a_position_are_those_a_scan_finds(
    spans: list[tuple[int, int]], position: int
) -> None:
    with_bits = [(start, end, bit) for bit, (start, end) in enumerate(spans)]
    assert CoveringSpans(with_bits).at(position) == _scanned(with_bits, position)


@given(st.lists(st.tuples(_SPAN, st.integers(0, 5)), max_size=40), st.integers(-1, 125))
def test_a_bit_with_several_spans_counts_where_any_of_them_covers(
    spans: list[tuple[tuple[int, int], int]], position: int
) -> None:
    with_bits = [(start, end, bit) for (start, end), bit in spans]
    assert CoveringSpans(with_bits).at(position) == _scanned(with_bits, position)


def test_the_answer_is_a_copy_the_caller_may_change() -> None:
    covering = CoveringSpans([(0, 10, 1), (0, 10, 2)])
    covering.at(5).add(99)
    assert covering.at(5) == BitMap([1, 2])
