"""Binning indexes: BAI (SAM/BAM spec §5.2), CSI v1 (CSIv1 spec) and tabix TBI (tabix spec).

All three map each reference to bins of a hierarchical binning scheme (§5.3), each bin holding
chunks: ``[beg, end)`` pairs of BGZF virtual offsets of records. BAI and TBI fix the scheme at
a 16 kbp minimum interval (``min_shift`` 14) and 5 levels below the root (``depth`` 5) and add
a linear index of the smallest record offset per 16 kbp window; CSI makes ``min_shift`` and
``depth`` parameters and stores a ``loffset`` per bin instead. A pseudo-bin (37450 for BAI)
carries metadata (§5.2: the reference's first and last record offsets and its counts).
TBI and CSI are BGZF-compressed; BAI is not. Parsed indexes are kept as flat arrays (about the
size of the index file) with bins sorted, so a level's bins are found by bisection.
"""

from __future__ import annotations

import gzip
import struct
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from gdi_node.htsget.bgzf import MalformedFileError

_LINEAR_SHIFT = 14  # BAI/TBI: 16 kbp windows (§5.2)
_BAI_DEPTH = 5
_TBI_META = struct.Struct("<7i")  # format, col_seq, col_beg, col_end, meta, skip, l_nm
_BAI_BIN = struct.Struct("<Ii")  # bin, n_chunk
_CSI_BIN = struct.Struct("<IQi")  # bin, loffset, n_chunk


@dataclass(frozen=True)
class Reference:
    """One reference sequence of an index: bins in ascending order and their chunks."""

    bins: array[int]  # bin numbers, ascending
    bounds: array[int]  # bins[i] holds chunk pairs bounds[i] to bounds[i + 1] - 1
    chunks: array[int]  # beg, end, beg, end, ... (virtual offsets)
    linear: array[int]  # BAI/TBI: smallest record voffset per 16 kbp window
    loffsets: array[int]  # CSI: smallest record voffset per bin, parallel to bins

    def find(self, bin_id: int) -> int:
        """The position of ``bin_id`` in ``bins``, or -1."""
        i = bisect_left(self.bins, bin_id)
        return i if i < len(self.bins) and self.bins[i] == bin_id else -1


@dataclass(frozen=True)
class BinningIndex:
    """A parsed BAI, CSI or TBI."""

    kind: str  # "BAI", "CSI" or "TBI"
    min_shift: int
    depth: int
    references: tuple[Reference, ...]
    names: tuple[str, ...] = ()  # TBI, and CSI of tabix-indexed text: names in index order

    @property
    def max_position(self) -> int:
        """One past the largest position the binning scheme can address (BAI/TBI: 2^29)."""
        return 1 << (self.min_shift + 3 * self.depth)

    def query(self, ref: int, beg: int, end: int) -> list[tuple[int, int]]:
        """Merged, sorted chunks holding every record of reference ``ref`` overlapping [beg, end).

        The candidate bins are those of reg2bins (§5.3, generalised to CSI); chunks ending at or
        before the smallest offset of a record overlapping ``beg`` (the linear index for BAI/TBI,
        the ``loffset`` of the nearest bin for CSI) cannot hold such records and are dropped.
        Likewise nothing at or after the first record of the next finest-level bin after ``end``
        can overlap the region (records are sorted), so chunks are cut there, as htslib does.
        """
        if ref >= len(self.references) or beg >= end:
            return []
        reference = self.references[ref]
        floor = self._min_offset(reference, beg)
        ceiling = self._max_offset(reference, min(end, self.max_position))
        chunks: list[tuple[int, int]] = []
        pairs = reference.chunks
        for first, last in bin_ranges(beg, min(end, self.max_position), self.min_shift, self.depth):
            lo, hi = bisect_left(reference.bins, first), bisect_right(reference.bins, last)
            for j in range(2 * reference.bounds[lo], 2 * reference.bounds[hi], 2):
                start, stop = pairs[j], min(pairs[j + 1], ceiling)
                if stop > floor and start < stop:
                    chunks.append((start, stop))
        return merge(chunks)

    def _max_offset(self, reference: Reference, end: int) -> int:
        """The smallest chunk start in the first finest-level bin after the one holding
        ``end - 1``: every record from there on starts at or after ``end``."""
        finest = first_bin(self.depth)
        last_finest = finest + ((self.max_position - 1) >> self.min_shift)
        index = bisect_left(reference.bins, finest + ((end - 1) >> self.min_shift) + 1)
        if index >= len(reference.bins) or reference.bins[index] > last_finest:
            return 1 << 64
        begins = reference.chunks[2 * reference.bounds[index] : 2 * reference.bounds[index + 1] : 2]
        return min(begins, default=1 << 64)

    def last_placed_end(self) -> int:
        """The virtual offset just past the last record placed on a reference (0 if none)."""
        return max((max(ref.chunks[1::2]) for ref in self.references if ref.chunks), default=0)

    def _min_offset(self, reference: Reference, beg: int) -> int:
        if reference.linear:
            window = min(beg >> _LINEAR_SHIFT, len(reference.linear) - 1)
            return reference.linear[window]
        if not reference.loffsets:
            return 0
        # CSI: the finest bin holding beg, else its nearest left sibling or ancestor present.
        bin_id = first_bin(self.depth) + (beg >> self.min_shift)
        while bin_id and reference.find(bin_id) < 0:
            parent = (bin_id - 1) >> 3
            bin_id = bin_id - 1 if bin_id > parent * 8 + 1 else parent
        found = reference.find(bin_id)
        return reference.loffsets[found] if found >= 0 else 0


def first_bin(level: int) -> int:
    """The number of the first bin of ``level`` (level 0 is the root): (8^level - 1) / 7."""
    return ((1 << 3 * level) - 1) // 7


def _pseudo_bin(depth: int) -> int:
    """The metadata pseudo-bin: one past bin_limit = (8^(depth+1) - 1) / 7 (37450 for BAI)."""
    return first_bin(depth + 1) + 1


def bin_ranges(beg: int, end: int, min_shift: int = 14, depth: int = 5) -> list[tuple[int, int]]:
    """Per level, the first and last bin overlapping [beg, end) (§5.3 reg2bins, CSI-generalised)."""
    if beg >= end:
        return []
    end -= 1
    ranges = []
    shift = min_shift + 3 * depth
    for level in range(depth + 1):
        offset = first_bin(level)
        ranges.append((offset + (beg >> shift), offset + (end >> shift)))
        shift -= 3
    return ranges


def reg2bins(beg: int, end: int, min_shift: int = 14, depth: int = 5) -> list[int]:
    """Bins that may hold records overlapping [beg, end) (§5.3 reg2bins, CSI-generalised)."""
    return [
        b for first, last in bin_ranges(beg, end, min_shift, depth) for b in range(first, last + 1)
    ]


def merge(chunks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted chunks with overlapping and touching ones joined."""
    merged: list[tuple[int, int]] = []
    for beg, end in sorted(chunks):
        if merged and beg <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((beg, end))
    return merged


def parse_index(raw: bytes) -> BinningIndex:
    """A BAI, CSI or TBI from the bytes of its file (compressed or not)."""
    if raw.startswith(b"\x1f\x8b"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise MalformedFileError(f"the index cannot be decompressed: {exc}") from None
    try:
        return _parse(memoryview(raw))
    except struct.error:
        raise MalformedFileError("the index is truncated") from None


def _parse(data: memoryview) -> BinningIndex:
    magic = bytes(data[:4])
    if magic == b"BAI\x01":
        refs, _ = _references(data, 4, csi=False, pseudo=_pseudo_bin(_BAI_DEPTH))
        return BinningIndex("BAI", _LINEAR_SHIFT, _BAI_DEPTH, refs)
    if magic == b"TBI\x01":
        (n_ref,) = struct.unpack_from("<i", data, 4)
        names, pos = _names(data, 8)
        refs, _ = _references(data, pos, csi=False, pseudo=_pseudo_bin(_BAI_DEPTH), n=n_ref)
        return BinningIndex("TBI", _LINEAR_SHIFT, _BAI_DEPTH, refs, names)
    if magic == b"CSI\x01":
        min_shift, depth, l_aux = struct.unpack_from("<3i", data, 4)
        names = _names(data, 16)[0] if l_aux >= _TBI_META.size + 4 else ()
        refs, _ = _references(data, 16 + l_aux, csi=True, pseudo=_pseudo_bin(depth))
        return BinningIndex("CSI", min_shift, depth, refs, names)
    raise MalformedFileError(f"not a BAI, CSI or TBI index (magic {magic!r})")


def _names(data: memoryview, pos: int) -> tuple[tuple[str, ...], int]:
    """The tabix header at ``pos`` (TBI, or CSI aux): the NUL-terminated sequence names."""
    l_nm = _TBI_META.unpack_from(data, pos)[-1]
    start = pos + _TBI_META.size
    blob = bytes(data[start : start + l_nm])
    return tuple(n.decode() for n in blob.split(b"\x00") if n), start + l_nm


def _references(
    data: memoryview, pos: int, *, csi: bool, pseudo: int, n: int | None = None
) -> tuple[tuple[Reference, ...], int]:
    """``n_ref`` (read at ``pos`` unless given) references of a BAI/TBI or CSI body."""
    if n is None:
        (n,) = struct.unpack_from("<i", data, pos)
        pos += 4
    refs = []
    for _ in range(n):
        (n_bin,) = struct.unpack_from("<i", data, pos)
        pos += 4
        found = []  # (bin, loffset, position of its chunks, n_chunk)
        for _ in range(n_bin):
            if csi:
                bin_id, loffset, n_chunk = _CSI_BIN.unpack_from(data, pos)
                pos += _CSI_BIN.size
            else:
                (bin_id, n_chunk), loffset = _BAI_BIN.unpack_from(data, pos), 0
                pos += _BAI_BIN.size
            if bin_id != pseudo:
                found.append((bin_id, loffset, pos, n_chunk))
            pos += 16 * n_chunk
        found.sort()
        chunks, bounds = array("Q"), array("Q", [0])
        for _, _, start, n_chunk in found:
            chunks.frombytes(data[start : start + 16 * n_chunk])
            bounds.append(len(chunks) // 2)
        linear = array("Q")
        if not csi:
            (n_intv,) = struct.unpack_from("<i", data, pos)
            linear.frombytes(data[pos + 4 : pos + 4 + 8 * n_intv])
            pos += 4 + 8 * n_intv
        if pos > len(data):
            raise MalformedFileError("the index is truncated")
        if sys.byteorder == "big":
            chunks.byteswap()
            linear.byteswap()
        bins = array("I", (f[0] for f in found))
        loffsets = array("Q", (f[1] for f in found) if csi else ())
        refs.append(Reference(bins, bounds, chunks, linear, loffsets))
    return tuple(refs), pos
