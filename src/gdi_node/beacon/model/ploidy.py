"""How many copies of a position an individual carries, by sex (VCF 4.3 §1.6.2, GT: "the
ploidy of the call"), for allele numbers and hemizygous counts (issue #18).

- Autosomes: 2.
- X: 2 in the pseudo-autosomal regions (PARs) and for XX individuals; 1 for XY individuals
  elsewhere. A call there is hemizygous.
- Y: 1 for XY individuals, PARs included (analysis sets hard-mask the Y PARs, whose reads map
  to X), 0 for XX individuals.
- MT: 1 for everyone (a haploid call of the dominant allele).

The PARs are the Genome Reference Consortium's, from ``beacon/reference/assemblies.yaml``.
``bcftools call --ploidy GRCh38`` / ``GRCh37`` differ, outside any gene, in one base before
each GRCh38 PAR (X:10,000 and X:155,701,382 are diploid there) and in the 10 kb of X after
PAR2, which bcftools leaves diploid on both assemblies. ``tests/unit/test_beacon_ploidy.py``
checks every other boundary against bcftools.

Sex is ``M`` or ``F`` as normalised from a sample sheet (gdi_node.beacon.model.populations);
None when unknown, where the ploidy of X outside the PARs and of Y is unknown too.
"""

from __future__ import annotations

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
    individual's is diploid: X outside the PARs."""
    return chrom == "X" and not assembly.in_par("X", position)
