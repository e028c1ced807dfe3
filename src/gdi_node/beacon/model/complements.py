"""Complementary suppression of frequency items (decision record 0022): a count shown exact
next to other exact counts must not let a small count be recovered by subtraction.

The whole dataset's counts are always shown under the small-count rule (decision record 0017).
Any other item (a sex, a country, a population a filter selects, the people a query's filters
narrow the answer to) is a set of the dataset's samples. The sets a node lists cut the dataset
into **cells**: the samples that belong to exactly the same sets. Every item a caller can get is
a union of cells, so any sum or difference of exact items is a sum of cells. If every cell
counts 0 or at least the threshold in every field, every such sum does too, and nothing small
can be recovered; if one cell is small, some pair of exact items would give it away. So the
rule is all or nothing, per allele and dataset: the items that depend on the cells are shown
when every cell is *safe*, and left out otherwise. Left out, not bounded: a count of 5 or more
cannot be written as "at most 4", and the same cells decide in every answer, so a record and a
filtered query agree.

The fields checked are the people counts an item shows: allele count, homozygous,
hemizygous (decision record 0023) and heterozygous (the other carriers) counts. Allele numbers
count called chromosomes, not carriers, and are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyroaring import BitMap

from gdi_node.beacon.model.carriers import AlleleCounts


def cells(universe: BitMap, sets: Sequence[BitMap]) -> list[BitMap]:
    """``universe`` cut into its non-empty cells by ``sets``: two samples share a cell when
    they belong to exactly the same ``sets``."""
    out = [universe] if universe else []
    for members in sets:
        cut: list[BitMap] = []
        for cell in out:
            inside = cell & members
            outside = cell - members
            cut += [part for part in (inside, outside) if part]
        out = cut
    return out


def is_safe(counts: AlleleCounts, threshold: int) -> bool:
    """Whether no count of ``counts`` is small: each is 0 or at least ``threshold``."""
    values = (counts.allele_count, counts.homozygous, counts.hemizygous, counts.heterozygous)
    return all(value == 0 or value >= threshold for value in values)


def all_safe(counts: Iterable[AlleleCounts], threshold: int) -> bool:
    """Whether every cell's counts are safe (the items built from the cells may be shown)."""
    return threshold <= 1 or all(is_safe(c, threshold) for c in counts)
