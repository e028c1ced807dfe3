"""Where gVCF samples are not called (table ``beacon_uncalled``, decision record 0021): a
load writes its samples' gaps, cut into pieces of at most :data:`PIECE` bases, in its write
steps; an allele number reads the pieces holding its position. A file's pieces go with it (the
callset's foreign key), and count only while its bits are in a scope.

A piece is stored under its **size class** k, the smallest with ``end - start <= 2**k``: a
piece of class k holding position p starts in ``(p - 2**k, p]``, so a lookup scans each class
over its own reach and reads at most about twice the pieces that hold p (half a class's
reach at least), however many genomes have gaps nearby (migration 0015). Scanning every piece
starting up to :data:`PIECE` before p read a number of rows growing with the genomes loaded.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Sequence
from functools import cache
from typing import Any, cast

from pyroaring import BitMap
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from gdi_node.db.models import BeaconUncalled

PIECE = 10_000  # bases: the longest piece
CLASSES = range((PIECE - 1).bit_length() + 1)  # size classes a piece can have: 0..14
_UNCALLED = cast(Table, BeaconUncalled.__table__)
_CHUNK = 400  # positions per statement
_MAX = 2**62  # above any start, end or bit


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
            "size_class": size_class(min(end, low + PIECE) - low),
        }
        for chrom, start, end, bit in gaps
        for low in range(start, end, PIECE)
    ]  # fmt: skip
    if rows:
        session.execute(insert(_UNCALLED), rows)
    return len(rows)


def size_class(length: int) -> int:
    """The smallest k with ``length <= 2**k``."""
    return max(0, length - 1).bit_length()


def uncalled_at(
    session: Session, dataset_id: str, assembly: str, chrom: str, positions: Collection[int]
) -> dict[int, BitMap]:
    """Per position (0-based), the bits a gap holds there (positions without any: absent).

    One position (an allele record) is answered by one row: the database keeps only the
    pieces holding it and joins their bits into one string. Several positions share their
    pieces: those starting within each class's reach of the chunk come back and are matched
    here. Both statements are built once and take the place and positions as parameters."""
    out: dict[int, BitMap] = {}
    ordered = sorted(set(positions))
    place = {"dataset_id": dataset_id, "assembly": assembly, "chrom": chrom}
    if len(ordered) == 1:
        joined: str | None = session.execute(
            _bits_holding(), {**place, "first": ordered[0]}
        ).scalar()
        if joined:
            out[ordered[0]] = BitMap(map(int, joined.split(",")))
        return out
    for n in range(0, len(ordered), _CHUNK):
        chunk = ordered[n : n + _CHUNK]
        by_class: dict[int, list[tuple[int, int, int]]] = {}
        found = session.execute(_pieces_near(), {**place, "first": chunk[0], "last": chunk[-1]})
        for k, start, end, bit in found:
            by_class.setdefault(int(k), []).append((int(start), int(end), int(bit)))
        for pieces in by_class.values():
            pieces.sort()
        for position in chunk:
            held = [
                bit
                for k, pieces in by_class.items()
                for start, end, bit in _starting(pieces, position - (1 << k), position)
                if position < end
            ]
            if held:
                out[position] = BitMap(held)
    return out


def _scans(last: ColumnElement[int]) -> list[Select[Any]]:
    """Per size class k, the pieces of the place starting in ``(first - 2**k, last]`` and
    ending after ``first`` (parameters ``dataset_id``, ``assembly``, ``chrom``, ``first``)."""
    first = bindparam("first", type_=BigInteger)
    columns = (_UNCALLED.c.size_class, _UNCALLED.c.start, _UNCALLED.c.end, _UNCALLED.c.bit_no)
    return [
        select(*columns).where(
            _UNCALLED.c.dataset_id == bindparam("dataset_id"),
            _UNCALLED.c.assembly == bindparam("assembly"),
            _UNCALLED.c.chrom == bindparam("chrom"),
            _UNCALLED.c.size_class == k,
            _UNCALLED.c.start > first - (1 << k),
            _UNCALLED.c.start <= last,
            _UNCALLED.c.end > first,  # ended before the first position: holds none
        )
        for k in CLASSES
    ]


@cache
def _bits_holding() -> Select[Any]:
    """The bits of the pieces holding position ``first``, joined by commas (NULL: none)."""
    held = union_all(*_scans(bindparam("first", type_=BigInteger))).subquery()
    return select(func.aggregate_strings(sql_cast(held.c.bit_no, Text), ","))


@cache
def _pieces_near() -> CompoundSelect[Any]:
    """(size class, start, end, bit) of the pieces that may hold a position in
    ``[first, last]``."""
    return union_all(*_scans(bindparam("last", type_=BigInteger)))


def _starting(
    pieces: Sequence[tuple[int, int, int]], after: int, upto: int
) -> Sequence[tuple[int, int, int]]:
    """The pieces (sorted by start) starting in ``(after, upto]``."""
    low = bisect_right(pieces, (after, _MAX, _MAX))
    high = bisect_right(pieces, (upto, _MAX, _MAX))
    return pieces[low:high]
