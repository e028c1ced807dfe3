"""How many copies of a position an individual carries, by sex (VCF 4.3 §1.6.2, GT: "the
ploidy of the call"), for allele numbers and hemizygous counts (issue #18, decision record
0023).

- Autosomes: 2.
- X: 2 in the pseudo-autosomal regions (PARs) and for XX individuals; 1 for XY individuals
  elsewhere. A call there is hemizygous.
- Y: 1 for XY individuals, PARs included (analysis sets hard-mask the Y PARs, whose reads map
  to X), 0 for XX individuals.
- MT: 1 for everyone (a haploid call of the dominant allele). Counting leaves MT as the file
  wrote it (decision record 0023: heteroplasmy has no diploid reading).

The PARs are the Genome Reference Consortium's, from ``beacon/reference/assemblies.yaml``.
``bcftools call --ploidy GRCh38`` / ``GRCh37`` differ, outside any gene, in one base before
each GRCh38 PAR (X:10,000 and X:155,701,382 are diploid there) and in the 10 kb of X after
PAR2, which bcftools leaves diploid on both assemblies. ``tests/unit/test_beacon_ploidy.py``
checks every other boundary against bcftools.

Sex is ``M`` or ``F`` as normalised from a sample sheet (gdi_node.beacon.model.populations);
None when unknown, where the ploidy of X outside the PARs and of Y is unknown too. Counting
takes the sexes of a scope's bits once (:class:`Sexes`) and asks per allele where it stands
(:meth:`Sexes.at`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyroaring import BitMap

from gdi_node.beacon.model.assemblies import Assembly

SEX_CHROMOSOMES = ("X", "Y")


def ploidy(assembly: Assembly, chrom: str, position: int, sex: str | None) -> int | None:
    """Copies of ``chrom`` (canonical name) at ``position`` (1-based) in an individual of
    ``sex``; None when it depends on a sex that is unknown."""
    if chrom == "MT":
        return 1
    if chrom == "Y":
        return {"M": 1, "F": 0}.get(sex or "")
    if chrom == "X" and not assembly.in_par("X", position):
        return {"M": 1, "F": 2}.get(sex or "")
    return 2


def hemizygous_in_males(assembly: Assembly, chrom: str, position: int) -> bool:
    """Whether an XY individual's call at ``position`` is hemizygous (one copy) where an XX
    individual's is diploid or absent: X outside the PARs, and Y."""
    return chrom == "Y" or (chrom == "X" and not assembly.in_par("X", position))


@dataclass(frozen=True)
class Copies:
    """Who carries how many copies at a position where that depends on sex (bits: genotype
    sets, decision record 0020): ``haploid`` bits carry one copy (XY individuals), ``absent``
    bits none (XX individuals on Y), ``known`` are the bits with a sex; the others count as
    their file wrote the call (decision record 0023)."""

    haploid: BitMap
    absent: BitMap
    known: BitMap


@dataclass(frozen=True)
class Sexes:
    """The bits whose sample sheet gave a sex, and the :class:`Copies` of X outside the PARs
    and of Y built from them once (per scope generation, not per allele)."""

    males: BitMap
    females: BitMap
    on_x: Copies
    on_y: Copies

    @classmethod
    def of(cls, males: BitMap, females: BitMap) -> Sexes:
        """From the bits of each sex; a bit listed as both counts as of unknown sex."""
        both = males & females
        males, females = males - both, females - both
        known = males | females
        return cls(males, females, Copies(males, BitMap(), known), Copies(males, females, known))

    def at(self, assembly: Assembly | None, chrom: str, position: int) -> Copies | None:
        """How copies count at ``position`` (1-based) of ``chrom`` (canonical); None where
        everyone counts as the file wrote the call (autosomes, PARs, MT, unknown assemblies)."""
        if assembly is None or not hemizygous_in_males(assembly, chrom, position):
            return None
        return self.on_y if chrom == "Y" else self.on_x


NO_SEXES = Sexes.of(BitMap(), BitMap())
