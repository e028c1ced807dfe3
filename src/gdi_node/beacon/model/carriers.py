"""Carrier sets of one variant allele, as roaring bitmaps over node-wide sample numbers.

From the genotypes of a site, per alternate allele ``k``:

* ``one_copy``: samples with exactly one copy of ``k`` (heterozygous, or haploid ``k``);
* ``two_copies``: samples homozygous for ``k``;
* ``one_called`` / ``none_called``: samples with one / no called allele at the site (haploid
  calls, half-missing ``./1``, missing ``./.``), the same for every allele of the site.

For a scope ``S`` of samples (a dataset, a population, minus opt-outs), with ``C`` the samples
of the callset: allele count ``AC = |one∩S| + 2|two∩S|``, allele number
``AN = 2|C∩S| - |one_called∩S| - 2|none_called∩S|`` (VCF 4.3 ``AC``/``AN`` semantics, diploid or
haploid), carriers ``|one∩S| + |two∩S|``, homozygous ``|two∩S|``.
"""

from __future__ import annotations

import array
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap

Genotypes = npt.NDArray[np.int16]  # (samples, ploidy): allele index, -1 missing, -2 no allele


class PloidyError(ValueError):
    """Genotypes with more than two alleles (the frequency database counts diploid/haploid)."""


def bitmap_of(numbers: npt.NDArray[np.uint32]) -> BitMap:
    """A bitmap of sample numbers (through a typed buffer: 10x faster than from numpy)."""
    return BitMap(array.array("I", numbers.astype(np.uint32, copy=False).tobytes()))


def to_bytes(bitmap: BitMap) -> bytes:
    bitmap.run_optimize()
    return bytes(bitmap.serialize())


def from_bytes(data: bytes) -> BitMap:
    return BitMap.deserialize(data)


@dataclass(frozen=True)
class SiteCalls:
    """Per-site sets shared by every allele: samples with one or no called allele."""

    one_called: BitMap
    none_called: BitMap


@dataclass(frozen=True)
class AlleleCarriers:
    one_copy: BitMap
    two_copies: BitMap

    @property
    def carriers(self) -> int:
        return len(self.one_copy) + len(self.two_copies)


def _first(alleles: Genotypes) -> Genotypes:
    return alleles[:, 0]


def _second(alleles: Genotypes) -> Genotypes:
    """The second allele; -2 (no allele: a haploid call) when the array has one column."""
    return alleles[:, 1] if alleles.shape[1] > 1 else np.full(len(alleles), -2, np.int16)


def site_calls(alleles: Genotypes, numbers: npt.NDArray[np.uint32]) -> SiteCalls:
    """``alleles`` holds each sample's allele indices; ``numbers`` the samples' numbers."""
    if alleles.shape[1] > 2 and bool((alleles[:, 2:] != -2).any()):
        raise PloidyError("genotypes with more than two alleles are not supported")
    called = (_first(alleles) >= 0).astype(np.int8) + (_second(alleles) >= 0)
    return SiteCalls(
        one_called=bitmap_of(numbers[called == 1]), none_called=bitmap_of(numbers[called == 0])
    )


def allele_carriers(
    alleles: Genotypes, allele: int, numbers: npt.NDArray[np.uint32]
) -> AlleleCarriers:
    copies = (_first(alleles) == allele).astype(np.int8) + (_second(alleles) == allele)
    return AlleleCarriers(
        one_copy=bitmap_of(numbers[copies == 1]), two_copies=bitmap_of(numbers[copies == 2])
    )


@dataclass(frozen=True)
class AlleleCounts:
    """Counts of one allele within a scope (VCF ``AC``, ``AN``; carriers; homozygous)."""

    allele_count: int
    allele_number: int
    carriers: int
    homozygous: int

    def __add__(self, other: AlleleCounts) -> AlleleCounts:
        return AlleleCounts(
            self.allele_count + other.allele_count,
            self.allele_number + other.allele_number,
            self.carriers + other.carriers,
            self.homozygous + other.homozygous,
        )

    @property
    def frequency(self) -> float:
        return self.allele_count / self.allele_number if self.allele_number else 0.0


NO_COUNTS = AlleleCounts(0, 0, 0, 0)


def count_in(
    scope: BitMap,
    *,
    callset_in_scope: int,
    one_copy: BitMap,
    two_copies: BitMap,
    one_called: BitMap,
    none_called: BitMap,
) -> AlleleCounts:
    """Counts within ``scope``; ``callset_in_scope`` is ``|C∩S|`` (see the module doc)."""
    one = one_copy.intersection_cardinality(scope)
    two = two_copies.intersection_cardinality(scope)
    number = (
        2 * callset_in_scope
        - one_called.intersection_cardinality(scope)
        - 2 * none_called.intersection_cardinality(scope)
    )
    return AlleleCounts(one + 2 * two, number, one + two, two)
