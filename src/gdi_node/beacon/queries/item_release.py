"""Which frequency items of an allele record a caller without a grant sees (decision record
0022, complementary suppression; the rule itself is gdi_node.beacon.model.complements).

The cells are cut from the dataset's consenting samples (the *universe*, what an unfiltered
query counts) by every group a sample sheet put samples in (sexes, countries, populations,
cohorts: everything a record item, a population filter or the sites-only export can count
apart, whatever the settings list) and, when a query's filters or path narrow the answer, by
that narrowed set. The same cells decide in every answer and in the export: a record's ``DK_M``
item, a ``sexFilter: M`` query's item and the export's ``AC_XY`` are shown or left out
together.

- **Group items** of a record: shown when every cell is safe.
- **The main item** (the record's last one):
  - unfiltered, it is the dataset itself: always shown (small counts bounded, 0017);
  - narrowed by population filters: a listed set, shown when every cell is safe;
  - narrowed by filters or a path only: shown when what the narrowing leaves out of the
    dataset is safe (else the dataset's exact count minus this one would give it away).

Filters that narrow the answer in nested steps (A, then A and B) are still answered each by
this rule; the difference of two such answers is bounded by the small-scope rule (0013) and
the query budget, not by cells (decision record 0022, consequences).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyroaring import BitMap

from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.complements import all_safe, cells
from gdi_node.beacon.queries.scopes import Scopes

CountsIn = Callable[[BitMap], AlleleCounts]


@dataclass(frozen=True)
class ItemRelease:
    threshold: int
    group_cells: tuple[BitMap, ...]
    main_cells: tuple[BitMap, ...]  # () : the main item is the dataset, always shown

    def groups_shown(self, counts_in: CountsIn) -> bool:
        """Whether the record lists its group items (``counts_in``: an allele's counts in a
        set of samples)."""
        return all_safe((counts_in(c) for c in self.group_cells), self.threshold)

    def main_shown(self, counts_in: CountsIn) -> bool:
        """Whether the record lists its main (last) item."""
        return all_safe((counts_in(c) for c in self.main_cells), self.threshold)


SHOW_ALL = ItemRelease(1, (), ())


def disclosed_sets(scopes: Scopes, universe: BitMap) -> list[BitMap]:
    """The parts of ``universe`` (a dataset's consenting samples) any route counts apart:
    every sample-sheet group's members in it."""
    return [members & universe for members in scopes.groups.values()]


def item_release(
    threshold: int,
    universe: BitMap,
    listed: Sequence[BitMap],
    *,
    narrowing: BitMap | None,
    population_narrows: bool,
) -> ItemRelease:
    """The release rule of one dataset's records: ``universe`` its consenting samples,
    ``listed`` the sets counted apart (``disclosed_sets``), ``narrowing`` the
    samples the query's filters or path keep (None: not narrowed), ``population_narrows``
    whether population filters select a part of the dataset."""
    if threshold <= 1:
        return SHOW_ALL
    cuts = [*listed, narrowing] if narrowing is not None else list(listed)
    group_cells = tuple(cells(universe, cuts))
    if population_narrows:
        main_cells = group_cells
    elif narrowing is not None:
        left_out = universe - narrowing
        main_cells = (left_out,) if left_out else ()
    else:
        main_cells = ()
    return ItemRelease(threshold, group_cells, main_cells)


def dataset_release(
    threshold: int,
    scopes: Scopes,
    universe: BitMap,
    *,
    narrowing: BitMap | None = None,
    population_narrows: bool = False,
) -> ItemRelease:
    """The release rule of a dataset's records and export: ``universe`` (its consenting
    samples) cut by every sample-sheet group in ``scopes`` and by the query's narrowing."""
    listed = disclosed_sets(scopes, universe)
    return item_release(
        threshold, universe, listed, narrowing=narrowing, population_narrows=population_narrows
    )
