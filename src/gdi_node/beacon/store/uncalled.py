"""Where gVCF samples are not called (table ``beacon_uncalled``, decision record 0021): a
load writes its samples' gaps, cut into pieces of at most :data:`PIECE` bases, in its write
steps; an allele number reads the pieces holding its position. A file's pieces go with it (the
callset's foreign key), and count only while its bits are in a scope."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Sequence
from typing import Any, cast

from pyroaring import BitMap
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from gdi_node.db.models import BeaconUncalled

PIECE = 10_000  # bases: a piece holding a position starts at most this far before it
_UNCALLED = cast(Table, BeaconUncalled.__table__)
_CHUNK = 400  # positions per statement


def write_gaps(
    session: Session,
    callset_id: int,
    dataset_id: str,
    assembly: str,
    gaps: Sequence[tuple[str, int, int, int]],  # (chrom, start, end, bit)
) -> int:
    """Store gaps in pieces, in the caller's transaction; returns the rows written."""
    rows: list[dict[str, Any]] = [
        {
            "dataset_id": dataset_id, "assembly": assembly, "chrom": chrom, "start": low,
            "end": min(end, low + PIECE), "bit_no": bit, "callset_id": callset_id,
        }
        for chrom, start, end, bit in gaps
        for low in range(start, end, PIECE)
    ]  # fmt: skip
    if rows:
        session.execute(insert(_UNCALLED), rows)
    return len(rows)


def uncalled_at(
    session: Session, dataset_id: str, assembly: str, chrom: str, positions: Collection[int]
) -> dict[int, BitMap]:
    """Per position (0-based), the bits a gap holds there (positions without any: absent)."""
    out: dict[int, BitMap] = {}
    ordered = sorted(set(positions))
    for n in range(0, len(ordered), _CHUNK):
        chunk = ordered[n : n + _CHUNK]
        pieces = session.execute(
            select(_UNCALLED.c.start, _UNCALLED.c.end, _UNCALLED.c.bit_no)
            .where(
                _UNCALLED.c.dataset_id == dataset_id,
                _UNCALLED.c.assembly == assembly,
                _UNCALLED.c.chrom == chrom,
                _UNCALLED.c.start > chunk[0] - PIECE,
                _UNCALLED.c.start <= chunk[-1],
            )
            .order_by(_UNCALLED.c.start)
        ).all()
        starts = [int(piece[0]) for piece in pieces]
        for position in chunk:
            low = bisect_right(starts, position - PIECE)
            high = bisect_right(starts, position)
            held = [int(bit) for _, end, bit in pieces[low:high] if position < end]
            if held:
                out[position] = BitMap(held)
    return out
