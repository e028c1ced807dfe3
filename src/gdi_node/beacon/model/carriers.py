"""Carrier sets of variant alleles, as roaring bitmaps over genotype-set bits, stored in slices.

A **bit** is one genotype set: one sample's genotypes from one loaded file (decision record
0020). A re-analysis or a second file of the same sample gets a new bit, so a load's bits stay
invisible until it is shown and a replaced file's bits are gone from answers at once.

From the genotypes of a site, per alternate allele ``k``:

* ``one_copy``: bits with exactly one copy of ``k`` (heterozygous, or haploid ``k``);
* ``two_copies``: bits homozygous for ``k``;
* ``no_call``: bits with no called allele at the record (``./.``);
* ``half_call``: bits with one called allele (haploid calls, half-missing ``./1``);
* ``ref_called``: bits of a file loaded with ``--absent nocall`` that are called at the record
  without carrying ``k`` (such a sample counts in the allele number only where it has a record).

Bitmaps are stored per **slice** of :data:`SLICE_BITS` bits (``slice = bit >> 12``, design 18
§2.1): adding genome N+1 rewrites only the slice its bit falls in, whatever N is. A slice is
tagged: ``0`` + a portable roaring serialisation, or ``1`` + a raw 512-byte bitset when it
holds more than :data:`DENSE` bits (roaring would spend 8 kB on such a container).

Counts of an allele (design 18 section 3.3, per allele as ``bcftools +fill-tags`` counts a
line): for a scope ``S`` of bits, ``P`` = the bits of ``S`` present at its position (ready
files covering the contig; a ``nocall`` bit only where it has a record of the allele),
``C`` = its carriers, ``N = ((uncalled | no_call) & P) - C`` and ``F = (half_call & P) - N``:
``AN = 2|P| - 2|N| - |F|``, ``AC = |one & P| + 2|two & P|``, homozygous ``|two & P|`` (VCF 4.3
``AC``/``AN``). The allele number is computed at query time from the bits present, never
summed per file.

Ploidy (decision record 0023; gdi_node.beacon.model.ploidy): where copies depend on sex (X
outside the PARs, Y), XX individuals drop out of ``P`` on Y, and the XY individuals ``H`` of
``P`` count one chromosome each, as ``bcftools +fixploidy`` then ``+fill-tags`` count them:
``AN = 2|D| - 2|N & D| - |F & D| + |H| - |N & H|`` with ``D = P - H``; an XY individual
carries the allele, hemizygous, when his call holds it and no other allele (``1``, ``1/1``,
``./1``), and a heterozygous-looking ``0/1`` is his reference call (``+fixploidy`` keeps the
first allele written). Bits of unknown sex count as written; there a carrier with one called
allele (``1``) is hemizygous.
"""

from __future__ import annotations

import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap

from gdi_node.beacon.model.ploidy import Copies

Genotypes = npt.NDArray[np.int16]  # (samples, ploidy): allele index, -1 missing, -2 no allele
SLICE_SHIFT = 12
SLICE_BITS = 1 << SLICE_SHIFT  # 4,096 bits per slice
DENSE = 256  # above this many bits a slice is stored as a raw bitset
_ROARING, _RAW = 0, 1
BITMAP_NAMES = ("one_copy", "two_copies", "no_call", "half_call", "ref_called")


class PloidyError(ValueError):
    """Genotypes with more than two alleles (the frequency database counts diploid/haploid)."""


def bitmap_of(numbers: npt.NDArray[np.uint32]) -> BitMap:
    """A bitmap of bits (through a typed buffer: 10x faster than from numpy)."""
    return BitMap(array.array("I", numbers.astype(np.uint32, copy=False).tobytes()))


def to_bytes(bitmap: BitMap) -> bytes:
    bitmap.run_optimize()
    return bytes(bitmap.serialize())


def from_bytes(data: bytes) -> BitMap:
    return BitMap.deserialize(data)


# --- slices -----------------------------------------------------------------------------------


def slices_of(bitmap: BitMap) -> dict[int, BitMap]:
    """``bitmap`` cut into slices: slice number -> the bits (global values) in it."""
    out: dict[int, BitMap] = {}
    if not bitmap:
        return out
    bits = np.asarray(bitmap.to_array(), dtype=np.uint32)
    slice_numbers = bits >> SLICE_SHIFT
    edges = np.flatnonzero(np.diff(slice_numbers)) + 1
    for part in np.split(bits, edges):
        out[int(part[0]) >> SLICE_SHIFT] = bitmap_of(part)
    return out


def encode_slice(bits: BitMap, slice_no: int) -> bytes:
    """One slice's bits (global values, all in ``slice_no``) as stored."""
    if len(bits) > DENSE:
        local = np.asarray(bits.to_array(), dtype=np.int64) - (slice_no << SLICE_SHIFT)
        raw = np.zeros(SLICE_BITS, dtype=np.uint8)
        raw[local] = 1
        return bytes([_RAW]) + np.packbits(raw).tobytes()
    return bytes([_ROARING]) + to_bytes(bits)


def decode_slice(data: bytes | None, slice_no: int) -> BitMap:
    """The bits (global values) of a stored slice; None or empty is no bit."""
    if not data:
        return BitMap()
    if data[0] == _RAW:
        local = np.flatnonzero(np.unpackbits(np.frombuffer(data, np.uint8, offset=1)))
        return bitmap_of(local.astype(np.uint32) + np.uint32(slice_no << SLICE_SHIFT))
    return BitMap.deserialize(data[1:])


def encode_optional(bits: BitMap, slice_no: int) -> bytes | None:
    """Like :func:`encode_slice`, None when empty (the nullable columns)."""
    return encode_slice(bits, slice_no) if bits else None


# --- carriers of one record ---------------------------------------------------------------------


def _first(alleles: Genotypes) -> Genotypes:
    return alleles[:, 0]


def _second(alleles: Genotypes) -> Genotypes:
    """The second allele; -2 (no allele: a haploid call) when the array has one column."""
    return alleles[:, 1] if alleles.shape[1] > 1 else np.full(len(alleles), -2, np.int16)


def called_alleles(alleles: Genotypes) -> npt.NDArray[np.int8]:
    """Per sample, how many alleles are called (0, 1 or 2)."""
    if alleles.shape[1] > 2 and bool((alleles[:, 2:] != -2).any()):
        raise PloidyError("genotypes with more than two alleles are not supported")
    first = (_first(alleles) >= 0).astype(np.int8)
    called: npt.NDArray[np.int8] = first + (_second(alleles) >= 0).astype(np.int8)
    return called


def copies_of(alleles: Genotypes, allele: int) -> npt.NDArray[np.int8]:
    """Per sample, how many copies of ``allele`` it carries (0, 1 or 2)."""
    first = (_first(alleles) == allele).astype(np.int8)
    copies: npt.NDArray[np.int8] = first + (_second(alleles) == allele).astype(np.int8)
    return copies


@dataclass
class AlleleBits:
    """What one load adds to one allele: its five bitmaps (see the module doc)."""

    one_copy: BitMap = field(default_factory=BitMap)
    two_copies: BitMap = field(default_factory=BitMap)
    no_call: BitMap = field(default_factory=BitMap)
    half_call: BitMap = field(default_factory=BitMap)
    ref_called: BitMap = field(default_factory=BitMap)

    @property
    def carriers(self) -> int:
        return len(self.one_copy | self.two_copies)

    def bitmaps(self) -> tuple[BitMap, BitMap, BitMap, BitMap, BitMap]:
        return self.one_copy, self.two_copies, self.no_call, self.half_call, self.ref_called

    def __or__(self, other: AlleleBits) -> AlleleBits:
        return AlleleBits(*(a | b for a, b in zip(self.bitmaps(), other.bitmaps(), strict=True)))

    def __ior__(self, other: AlleleBits) -> AlleleBits:
        for mine, theirs in zip(self.bitmaps(), other.bitmaps(), strict=True):
            mine.update(theirs)
        return self

    def without(self, bits: BitMap) -> AlleleBits:
        return AlleleBits(*(b - bits for b in self.bitmaps()))

    @property
    def recorded(self) -> BitMap:
        """Bits with a called genotype at the allele's record."""
        return self.one_copy | self.two_copies | self.half_call | self.ref_called

    def is_empty(self) -> bool:
        return not any(self.bitmaps())

    def by_slice(self) -> dict[int, AlleleBits]:
        """These bitmaps cut into slices."""
        out: dict[int, AlleleBits] = {}
        for n, bitmap in enumerate(self.bitmaps()):
            for slice_no, part in slices_of(bitmap).items():
                out.setdefault(slice_no, AlleleBits()).bitmaps()[n].update(part)
        return out

    def encoded(self, slice_no: int) -> dict[str, bytes | None]:
        """The stored columns of one slice of these bitmaps (carriers never NULL)."""
        one, two, no_call, half, ref = self.bitmaps()
        return {
            "one_copy": encode_slice(one, slice_no),
            "two_copies": encode_slice(two, slice_no),
            "no_call": encode_optional(no_call, slice_no),
            "half_call": encode_optional(half, slice_no),
            "ref_called": encode_optional(ref, slice_no),
        }

    @classmethod
    def decoded(cls, slice_no: int, columns: Iterable[bytes | None]) -> AlleleBits:
        """From the stored columns of one slice, in :data:`BITMAP_NAMES` order."""
        return cls(*(decode_slice(data, slice_no) for data in columns))


# --- counting at a site ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AlleleCounts:
    """Counts of one allele within a scope (VCF ``AC``, ``AN``; carriers; homozygous and
    hemizygous carriers). Every carrier is homozygous, hemizygous or heterozygous, so
    ``AC = heterozygous + 2 * homozygous + hemizygous``."""

    allele_count: int
    allele_number: int
    carriers: int
    homozygous: int
    hemizygous: int = 0

    def __add__(self, other: AlleleCounts) -> AlleleCounts:
        return AlleleCounts(
            self.allele_count + other.allele_count,
            self.allele_number + other.allele_number,
            self.carriers + other.carriers,
            self.homozygous + other.homozygous,
            self.hemizygous + other.hemizygous,
        )

    @property
    def heterozygous(self) -> int:
        return self.carriers - self.homozygous - self.hemizygous

    @property
    def frequency(self) -> float:
        return self.allele_count / self.allele_number if self.allele_number else 0.0


NO_COUNTS = AlleleCounts(0, 0, 0, 0)


def count_allele(
    scope: BitMap,
    bits: AlleleBits,
    *,
    present: BitMap,
    sparse: BitMap,
    uncalled: BitMap | None = None,
    copies: Copies | None = None,
) -> AlleleCounts:
    """Counts of an allele with carrier ``bits`` within ``scope`` (see the module doc):
    ``present`` are the bits whose files cover its position, ``sparse`` those called only
    where they have a record, ``uncalled`` those whose files say the position is not called,
    ``copies`` who carries how many copies there when that depends on sex (None: everyone as
    the file wrote the call)."""
    within = scope & present
    if copies is not None and copies.absent:
        within -= copies.absent
    thin = within & sparse
    if thin:
        within = (within - thin) | (thin & bits.recorded)
    carried = bits.one_copy | bits.two_copies
    masked = bits.no_call | uncalled if uncalled else bits.no_call
    uncalled_here = (masked & within) - carried
    if copies is None:
        return _as_written(bits, within, uncalled_here)
    unknown = within - copies.known
    haploid = within & copies.haploid
    if not haploid:
        return _as_written(bits, within, uncalled_here, one_called_is_hemizygous=unknown)
    written = _as_written(
        bits, within - haploid, uncalled_here - haploid, one_called_is_hemizygous=unknown
    )
    return written + _haploid(bits, haploid, uncalled_here)


def _as_written(
    bits: AlleleBits,
    within: BitMap,
    uncalled_here: BitMap,
    one_called_is_hemizygous: BitMap | None = None,
) -> AlleleCounts:
    """Counts of ``within`` as their files wrote the calls: a diploid call counts two
    chromosomes, a haploid or half-missing one one. A carrier with one called allele among
    ``one_called_is_hemizygous`` (bits of unknown sex where XY individuals have one copy) is
    hemizygous, as ``+fill-tags`` counts ``AC_Hemi``."""
    half = (bits.half_call & within) - uncalled_here
    number = 2 * len(within) - 2 * len(uncalled_here) - len(half)
    one = bits.one_copy.intersection_cardinality(within)
    two = bits.two_copies.intersection_cardinality(within)
    hemizygous = 0
    if one_called_is_hemizygous:
        hemizygous = len(bits.one_copy & half & one_called_is_hemizygous)
    return AlleleCounts(one + 2 * two, number, one + two, two, hemizygous)


def _haploid(bits: AlleleBits, haploid: BitMap, uncalled_here: BitMap) -> AlleleCounts:
    """Counts of XY individuals (``haploid``) where they carry one copy: one chromosome each
    when called; a carrier when the call holds the allele and no other (``1``, ``1/1``,
    ``./1``), hemizygous; a ``0/1`` is a reference call: ``bcftools +fixploidy`` keeps the
    first allele written, and callers write an unphased call (VCF 4.3 §1.6.2, ``/``) with the
    lower allele first."""
    number = len(haploid) - uncalled_here.intersection_cardinality(haploid)
    hemizygous = len(((bits.one_copy & bits.half_call) | bits.two_copies) & haploid)
    return AlleleCounts(hemizygous, number, hemizygous, 0, hemizygous)
