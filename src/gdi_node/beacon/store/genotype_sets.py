"""Genotype sets: the bits of the carrier bitmaps (decision record 0020). A file's samples get
new bits when its load starts; bits are never reused, so a load's bits are invisible until it
is shown (no scope holds them) and a replaced file's bits stop counting when it is retired.
Removing a file clears its bits from the allele rows they are in (:func:`clear_bits`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from gdi_node.beacon.model.carriers import BITMAP_NAMES, SLICE_SHIFT, AlleleBits
from gdi_node.beacon.store.variant_bins import BIN_SIZE, add_bins
from gdi_node.db.models import (
    BeaconCarrierSlice,
    BeaconGenotypeSet,
    BeaconVariant,
    BeaconVariantTerm,
)

_SETS = cast(Table, BeaconGenotypeSet.__table__)
_SLICES = cast(Table, BeaconCarrierSlice.__table__)
_VARIANTS = cast(Table, BeaconVariant.__table__)
_TERMS = cast(Table, BeaconVariantTerm.__table__)
CLEAR_STEP = 2000  # carrier slice rows read per step


def allocate_bits(
    session: Session, callset_id: int, sample_numbers: Sequence[int]
) -> npt.NDArray[np.uint32]:
    """New bits for a file's samples (in its column order), in the caller's transaction."""
    if not len(sample_numbers):
        return np.zeros(0, dtype=np.uint32)
    bits = session.execute(
        insert(_SETS).returning(_SETS.c.bit_no, sort_by_parameter_order=True),
        [{"callset_id": callset_id, "sample_no": int(n)} for n in sample_numbers],
    ).scalars()
    return np.asarray(list(bits), dtype=np.uint32)


def bits_of(session: Session, callset_id: int) -> BitMap:
    return BitMap(session.scalars(select(_SETS.c.bit_no).where(_SETS.c.callset_id == callset_id)))


@dataclass(frozen=True)
class Cleared:
    rows: int  # carrier slice rows read
    last_variant: int | None  # where the next step starts (None: done)


def clear_bits(
    session: Session, dataset_id: str, bits: BitMap, after: int = -1, step: int = CLEAR_STEP
) -> Cleared:
    """One step of removing ``bits`` from a dataset's carrier slices (in variant id order,
    from after ``after``): slices left empty are deleted, carrier counts and bins lowered,
    alleles left without any bit deleted with their terms. The slices of those bits are
    scanned: the cost is that of the dataset's alleles in them, not of one file's."""
    slice_numbers = sorted({bit >> SLICE_SHIFT for bit in bits})
    if not slice_numbers:
        return Cleared(0, None)
    rows = session.execute(
        select(
            _SLICES.c.variant_id, _SLICES.c.slice, *(_SLICES.c[n] for n in BITMAP_NAMES),
            _VARIANTS.c.carriers, _VARIANTS.c.assembly, _VARIANTS.c.chrom, _VARIANTS.c.start,
            _VARIANTS.c.variant_type,
        )
        .select_from(_SLICES.join(_VARIANTS, _VARIANTS.c.id == _SLICES.c.variant_id))
        .where(
            _VARIANTS.c.dataset_id == dataset_id,
            _SLICES.c.slice.in_(slice_numbers),
            _SLICES.c.variant_id > after,
        )
        .order_by(_SLICES.c.variant_id, _SLICES.c.slice)
        .limit(step)
    ).all()  # fmt: skip
    if not rows:
        return Cleared(0, None)
    lost: Counter[int] = Counter()
    rewritten, emptied = [], []
    for row in rows:
        variant_id, slice_no = int(row[0]), int(row[1])
        before = AlleleBits.decoded(slice_no, row[2:7])
        after_bits = before.without(bits)
        if after_bits.bitmaps() == before.bitmaps():
            continue
        lost[variant_id] += before.carriers - after_bits.carriers
        if after_bits.is_empty():
            emptied.append({"b_id": variant_id, "b_slice": slice_no})
        else:
            values = {f"b_{k}": v for k, v in after_bits.encoded(slice_no).items()}
            rewritten.append({"b_id": variant_id, "b_slice": slice_no} | values)
    at_slice = (_SLICES.c.variant_id == bindparam("b_id"), _SLICES.c.slice == bindparam("b_slice"))
    if rewritten:
        session.execute(
            update(_SLICES).where(*at_slice).values({n: bindparam(f"b_{n}") for n in BITMAP_NAMES}),
            rewritten,
        )
    if emptied:
        session.execute(delete(_SLICES).where(*at_slice), emptied)
    _lower(session, dataset_id, rows, lost, {e["b_id"] for e in emptied})
    return Cleared(len(rows), int(rows[-1][0]))


def _lower(
    session: Session, dataset_id: str, rows: Sequence[Any], lost: Counter[int], emptied: set[int]
) -> None:
    """Carrier counts and bins after bits were cleared; rows without any slice deleted."""
    first = {int(r[0]): r for r in rows}
    changes = [{"b_id": v, "b_lost": n} for v, n in lost.items() if n]
    if changes:
        session.execute(
            update(_VARIANTS)
            .where(_VARIANTS.c.id == bindparam("b_id"))
            .values(carriers=_VARIANTS.c.carriers - bindparam("b_lost")),
            changes,
        )
    left: set[int] = set()
    if emptied:
        left = set(
            session.scalars(
                select(_SLICES.c.variant_id).where(_SLICES.c.variant_id.in_(sorted(emptied)))
            )
        )
    gone = sorted(emptied - left)
    bins: Counter[tuple[str, str, str, int, str]] = Counter()
    for variant_id in set(lost) | set(gone):
        row = first[variant_id]
        carriers = int(row[7])
        if carriers > 0 and carriers - lost[variant_id] <= 0:
            bins[(dataset_id, row[8], row[9], int(row[10]) // BIN_SIZE, row[11])] -= 1
    if gone:
        session.execute(delete(_TERMS).where(_TERMS.c.variant_id.in_(gone)))
        session.execute(delete(_VARIANTS).where(_VARIANTS.c.id.in_(gone)))
    add_bins(session, bins)
