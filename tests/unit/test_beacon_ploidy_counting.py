"""The counting rule of decision record 0023, genotype by genotype
(gdi_node.beacon.model.carriers.count_allele with gdi_node.beacon.model.ploidy.Sexes): XY
individuals count one chromosome outside the PARs and on Y, XX individuals two on X and none on
Y, individuals of unknown sex as their file wrote the call; the hemizygous count is treated
like the homozygous one when counts are small and in the cells of complementary suppression.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from pyroaring import BitMap

from gdi_node.beacon.model import carriers
from gdi_node.beacon.model.assemblies import known_assemblies
from gdi_node.beacon.model.carriers import AlleleBits, AlleleCounts, count_allele
from gdi_node.beacon.model.complements import is_safe
from gdi_node.beacon.model.ploidy import Copies, Sexes
from gdi_node.beacon.model.precision import CountPolicy
from gdi_node.beacon.queries.alleles import population_frequency

GRCH38 = known_assemblies().get("GRCh38")
OUTSIDE_PAR, IN_PAR1 = 5_000_000, 1_000_000  # chrX, 1-based


def bits_of(calls: list[str]) -> AlleleBits:
    """Carrier bits of ALT 1 for ``calls`` (GT strings; sample n is bit n), the five bitmaps
    the loader writes (gdi_node.beacon.model.carriers, module doc)."""
    width = max(len(c.split("/")) for c in calls)
    rows = [[-1 if a == "." else int(a) for a in c.split("/")] for c in calls]
    genotypes = np.array([r + [-2] * (width - len(r)) for r in rows], dtype=np.int16)
    called, copies = carriers.called_alleles(genotypes), carriers.copies_of(genotypes, 1)
    bit = np.arange(len(calls), dtype=np.uint32)
    return AlleleBits(
        one_copy=carriers.bitmap_of(bit[copies == 1]),
        two_copies=carriers.bitmap_of(bit[copies == 2]),
        no_call=carriers.bitmap_of(bit[called == 0]),
        half_call=carriers.bitmap_of(bit[called == 1]),
    )


def count(
    calls: list[str], sexes: list[str | None], chrom: str = "X", pos: int = OUTSIDE_PAR
) -> AlleleCounts:
    """Counts of ALT 1 among ``calls`` of individuals of ``sexes`` (M, F, None), at ``pos``."""
    everyone = BitMap(range(len(calls)))
    found = Sexes.of(
        BitMap(n for n, s in enumerate(sexes) if s == "M"),
        BitMap(n for n, s in enumerate(sexes) if s == "F"),
    )
    copies = found.at(GRCH38, chrom, pos)
    return count_allele(everyone, bits_of(calls), present=everyone, sparse=BitMap(), copies=copies)


def summary(counts: AlleleCounts) -> tuple[int, int, int, int, int]:
    """(AC, AN, homozygous, heterozygous, hemizygous)."""
    c = counts
    return c.allele_count, c.allele_number, c.homozygous, c.heterozygous, c.hemizygous


def test_an_xy_individual_outside_the_pars_counts_one_chromosome_written_haploid_or_diploid() -> (
    None
):
    calls = ["1", "1/1", "0", "0/0", ".", "./."]
    assert summary(count(calls, ["M"] * 6)) == (2, 4, 0, 0, 2)
    assert summary(count(calls, ["M"] * 6, chrom="Y", pos=3_000_000)) == (2, 4, 0, 0, 2)


def test_an_xy_heterozygous_looking_call_outside_the_pars_is_his_reference_call() -> None:
    """``bcftools +fixploidy`` keeps the first allele written: ``0/1`` becomes ``0``."""
    assert summary(count(["0/1"], ["M"])) == (0, 1, 0, 0, 0)
    assert count(["0/1"], ["M"]).carriers == 0


def test_an_xy_half_missing_call_outside_the_pars_counts_the_allele_called() -> None:
    assert summary(count(["./1", "./0"], ["M", "M"])) == (1, 2, 0, 0, 1)


def test_xx_individuals_are_diploid_on_x_and_not_counted_on_y() -> None:
    assert summary(count(["0/1", "1/1", "./."], ["F"] * 3)) == (3, 4, 1, 1, 0)
    assert summary(count(["0/1", "1/1", "0/0"], ["F"] * 3, chrom="Y", pos=3_000_000)) == (
        0, 0, 0, 0, 0,
    )  # fmt: skip


def test_unknown_sex_counts_as_written_and_a_haploid_carrier_is_hemizygous() -> None:
    """Never doubled (``+fixploidy`` would make an unlisted sample's ``1`` a ``1/1``), never
    halved: the file's own ploidy."""
    calls = ["1", "1/1", "0/1", "0"]
    assert summary(count(calls, [None] * 4)) == (4, 6, 1, 1, 1)
    assert summary(count(calls, [None] * 4, chrom="Y", pos=3_000_000)) == (4, 6, 1, 1, 1)


def test_in_the_pars_on_autosomes_and_on_mt_everyone_counts_as_written() -> None:
    calls, sexes = ["0/1", "1/1", "1"], ["M", "F", None]
    assert summary(count(calls, sexes, pos=IN_PAR1)) == (4, 5, 1, 2, 0)
    assert summary(count(calls, sexes, chrom="7", pos=OUTSIDE_PAR)) == (4, 5, 1, 2, 0)
    assert summary(count(calls, sexes, chrom="MT", pos=100)) == (4, 5, 1, 2, 0)


def test_a_par_boundary_decides_by_the_first_base_of_the_record() -> None:
    assert GRCH38 is not None
    last_par1 = GRCH38.par["X"][0][1]
    assert summary(count(["1/1"], ["M"], pos=last_par1)) == (2, 2, 1, 0, 0)
    assert summary(count(["1/1"], ["M"], pos=last_par1 + 1)) == (1, 1, 0, 0, 1)


CALLS = st.sampled_from(["0/0", "0/1", "1/1", "./.", "./1", "0", "1", "."])
SEX = st.sampled_from(["M", "F", None])


def reference(calls: list[str], sexes: list[str | None], chrom: str) -> tuple[int, ...]:
    """The rule sample by sample (decision record 0023), for sorted calls."""
    ac = an = hom = het = hemi = 0
    for call, sex in zip(calls, sexes, strict=True):
        alleles = [a for a in call.split("/") if a != "."]
        if sex == "F" and chrom == "Y":
            continue
        if sex == "M":  # one copy: the allele called, a diploid call's first
            first = call.split("/")[0] if "/" in call and "." not in call else "".join(alleles)
            an += bool(first)
            hemi += first == "1"
            ac += first == "1"
            continue
        an += len(alleles)
        ac += alleles.count("1")
        hom += alleles == ["1", "1"]
        het += alleles.count("1") == 1 and (len(alleles) == 2 or sex == "F")
        hemi += alleles == ["1"] and sex is None
    return ac, an, hom, het, hemi


@given(st.lists(st.tuples(CALLS, SEX), min_size=1, max_size=30), st.sampled_from(["X", "Y"]))
def test_counts_follow_the_rule_and_keep_every_invariant(
    people: list[tuple[str, str | None]], chrom: str
) -> None:
    calls, sexes = [c for c, _ in people], [s for _, s in people]
    counts = count(calls, sexes, chrom=chrom, pos=3_000_000)
    assert summary(counts) == reference(calls, sexes, chrom)
    assert 0 <= counts.allele_count <= counts.allele_number
    assert 0 <= counts.homozygous <= counts.carriers
    assert min(counts.heterozygous, counts.hemizygous) >= 0
    assert counts.allele_count == counts.heterozygous + 2 * counts.homozygous + counts.hemizygous
    assert 0 <= counts.frequency <= 1


def test_copies_come_from_the_sexes_once_and_a_bit_of_both_sexes_counts_as_unknown() -> None:
    found = Sexes.of(BitMap([1, 2]), BitMap([2, 3]))
    assert found.at(GRCH38, "X", OUTSIDE_PAR) == Copies(BitMap([1]), BitMap(), BitMap([1, 3]))
    assert found.at(GRCH38, "Y", 5) is found.on_y
    assert found.on_y.absent == BitMap([3])
    assert found.at(GRCH38, "X", IN_PAR1) is None
    assert found.at(None, "X", OUTSIDE_PAR) is None


POLICY = CountPolicy(threshold=5)


def test_a_small_hemizygous_count_is_an_upper_bound_and_the_heterozygous_count_a_lower_one() -> (
    None
):
    """AC 20 = 8 heterozygotes + 2 * 5 homozygotes + 2 hemizygous men."""
    item = population_frequency("DK", AlleleCounts(20, 60, 15, 5, 2), POLICY)
    assert item["alleleCountHemizygous"] == 4  # at most 4
    assert item["alleleCountHeterozygous"] == 6  # at least 20 - 10 - 4
    assert item["alleleCountHomozygous"] == 5
    assert item["alleleCount"] == 20
    assert "alleleCountHemizygous" in item["upperBounds"]
    assert item["lowerBounds"] == ["alleleCountHeterozygous"]
    assert item["countPrecision"] == "imprecise"


def test_a_small_heterozygous_count_beside_exact_hemizygous_and_allele_counts_is_bounded() -> None:
    """AC 20 = 2 heterozygotes + 2 * 5 homozygotes + 8 hemizygous men: exact AC, hom and hemi
    would give the 2 away, so het is at most 4 and hom at least (20 - 4 - 8) / 2."""
    item = population_frequency("DK", AlleleCounts(20, 60, 15, 5, 8), POLICY)
    assert item["alleleCountHeterozygous"] == 4
    assert item["alleleCountHomozygous"] == 4
    assert item["alleleCountHemizygous"] == 8
    assert item["lowerBounds"] == ["alleleCountHomozygous"]


def test_a_cell_with_a_small_hemizygous_count_is_not_safe() -> None:
    assert not is_safe(AlleleCounts(10, 30, 10, 0, 2), 5)  # 2 hemizygous men
    assert is_safe(AlleleCounts(10, 30, 10, 0, 5), 5)  # 5 hemizygous, 5 heterozygous
