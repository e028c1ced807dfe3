"""Ploidy by sex and position (gdi_node.beacon.model.ploidy) agrees with bcftools' own tables
(``bcftools call --ploidy GRCh38?`` / ``GRCh37?``), except where the GRC's PAR coordinates
and bcftools' differ (named in the module's doc)."""

from __future__ import annotations

import subprocess

import pytest

from gdi_node.beacon.model.assemblies import known_assemblies
from gdi_node.beacon.model.ploidy import hemizygous_in_males, ploidy

# where bcftools says diploid and the GRC's PARs say haploid in XY individuals (see
# gdi_node.beacon.model.ploidy): a base next to PAR1 and PAR2 on GRCh38, and X after PAR2
GRC_OVER_BCFTOOLS = {"GRCh38": ((10_000, 10_000), (155_701_382, 155_701_382),
                                (156_030_896, 156_040_895)),
                     "GRCh37": ((155_260_561, 155_270_560),)}  # fmt: skip


def differs_from_bcftools(assembly_id: str, chrom: str, position: int) -> bool:
    spans = GRC_OVER_BCFTOOLS[assembly_id]
    return chrom == "X" and any(first <= position <= last for first, last in spans)


def bcftools_table(assembly_id: str) -> list[tuple[str, int, int, str, int]]:
    """(chrom, first, last, sex, ploidy) lines bcftools prints for its predefined ploidy."""
    printed = subprocess.run(
        ["bcftools", "call", "--ploidy", f"{assembly_id}?"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in (printed.stdout + printed.stderr).splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] in ("X", "Y", "MT"):
            rows.append((parts[0], int(parts[1]), int(parts[2]), parts[3], int(parts[4])))
    assert rows, printed
    return rows


def bcftools_ploidy(
    table: list[tuple[str, int, int, str, int]], chrom: str, pos: int, sex: str
) -> int:
    for name, first, last, of_sex, copies in table:
        if name == chrom and of_sex == sex and first <= pos <= last:
            return copies
    return 2


@pytest.mark.parametrize("assembly_id", ["GRCh38", "GRCh37"])
def test_ploidy_matches_bcftools_at_every_boundary_of_its_table(assembly_id: str) -> None:
    assembly = known_assemblies().get(assembly_id)
    assert assembly is not None
    table = bcftools_table(assembly_id)
    positions = {
        (chrom, p) for chrom, first, last, _, _ in table for p in (first - 1, first, last, last + 1)
    }
    for region in assembly.par.values():
        positions |= {
            ("X", p) for first, last in region for p in (first - 1, first, last, last + 1)
        }
    positions |= {("22", 16_050_000), ("X", assembly.lengths["X"]), ("Y", 1)}
    checked = 0
    for chrom, position in sorted(positions):
        if position < 1 or position > assembly.lengths[chrom]:
            continue
        for sex in ("M", "F"):
            ours = ploidy(assembly, chrom, position, sex)
            if sex == "M" and differs_from_bcftools(assembly_id, chrom, position):
                assert ours == 1  # the GRC: outside the PARs, haploid in XY individuals
                continue
            assert ours == bcftools_ploidy(table, chrom, position, sex), (chrom, position, sex)
            checked += 1
    assert checked > 20


def test_x_outside_the_pars_is_hemizygous_in_males_and_unknown_without_a_sex() -> None:
    grch38 = known_assemblies().get("GRCh38")
    assert grch38 is not None
    assert ploidy(grch38, "X", 2_781_479, "M") == 2  # last base of PAR1
    assert ploidy(grch38, "X", 2_781_480, "M") == 1
    assert hemizygous_in_males(grch38, "X", 2_781_480)
    assert not hemizygous_in_males(grch38, "X", 2_781_479)
    assert not hemizygous_in_males(grch38, "7", 2_781_480)
    assert hemizygous_in_males(grch38, "Y", 20_000)  # all of Y, its PARs too
    assert ploidy(grch38, "X", 2_781_480, None) is None
    assert ploidy(grch38, "X", 100, None) is None  # before PAR1
    assert ploidy(grch38, "X", 20_000, None) == 2  # in PAR1: whatever the sex
    assert ploidy(grch38, "Y", 20_000, "F") == 0
    assert ploidy(grch38, "MT", 1, "F") == 1


def test_every_assembly_has_lengths_for_its_sequences_and_pars_on_x_and_y() -> None:
    for assembly_id in ("GRCh38", "GRCh37"):
        assembly = known_assemblies().get(assembly_id)
        assert assembly is not None
        assert set(assembly.lengths) == set(assembly.accessions)
        assert set(assembly.par) == {"X", "Y"}
        for chrom, regions in assembly.par.items():
            assert all(1 <= a <= b <= assembly.lengths[chrom] for a, b in regions)
    assert known_assemblies().get("GRCh38").lengths["22"] == 50_818_468  # type: ignore[union-attr]
