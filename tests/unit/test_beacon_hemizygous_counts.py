"""Allele counts on the sex chromosomes equal the field's reference, ``bcftools +fixploidy``
(a sex file, the GRC PARs) then ``bcftools +fill-tags -t AN,AC,AC_Hom,AC_Het,AC_Hemi``, for
joint-called and per-genome files of XY and XX samples, on GRCh38 and GRCh37, on SQLite and
PostgreSQL (decision record 0023). Every allele's AC, AN, homozygous, heterozygous and
hemizygous count is compared; the genomes are built in ``tests/support/sex_chromosomes.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.support.htsget_setup import node_settings
from tests.support.per_genome import bcftools
from tests.support.sex_chromosomes import (
    Counts,
    joint_genomes,
    node_counts,
    one_copy_in_males,
    per_genome_files,
    reference_counts,
    sheet,
)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    return node_settings(tmp_path, "http://testserver", database_url)


def differences(served: Counts, expected: Counts) -> dict[object, object]:
    return {k: (served.get(k), v) for k, v in expected.items() if served.get(k) != v}


def assert_covers_every_case(expected: Counts, assembly: str) -> None:
    """The comparison is not vacuous: hemizygous carriers outside the PARs and on Y, males
    counted as one chromosome, and heterozygous and homozygous carriers in the PARs."""
    outside = {k: v for k, v in expected.items() if one_copy_in_males(assembly, k[0], k[1])}
    inside = {k: v for k, v in expected.items() if k[0] == "X" and k not in outside}
    assert len(outside) > 10
    assert len(inside) > 5
    assert sum(v[4] for k, v in outside.items() if k[0] == "X") > 5
    assert sum(v[4] for k, v in outside.items() if k[0] == "Y") > 3
    assert sum(v[3] for v in inside.values()) > 5
    assert sum(v[2] for v in inside.values()) > 1
    assert all(v[4] == 0 for v in inside.values())


@pytest.mark.parametrize("assembly", ["GRCh38", "GRCh37"])
def test_joint_called_sex_chromosomes_count_like_fixploidy_then_fill_tags(
    node: Settings, tmp_path: Path, assembly: str
) -> None:
    joint = joint_genomes(assembly, tmp_path / "genomes")
    expected = reference_counts([joint], assembly)
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(joint, "OPEN", assembly_id=assembly, sample_sheet=sheet())
        served = node_counts(sessions, "OPEN", expected, assembly)
    assert_covers_every_case(expected, assembly)
    wrong = differences(served, expected)
    assert not wrong, f"{len(wrong)} of {len(expected)} differ, e.g. {list(wrong.items())[:4]}"


@pytest.mark.parametrize("assembly", ["GRCh38", "GRCh37"])
def test_per_genome_sex_chromosomes_count_like_merge_0_fixploidy_then_fill_tags(
    node: Settings, tmp_path: Path, assembly: str
) -> None:
    files = per_genome_files(joint_genomes(assembly, tmp_path), tmp_path / "genomes")
    expected = reference_counts(files, assembly)
    with migrated_sessions(node) as sessions:
        for path in files:
            sample = path.name.removesuffix(".vcf.gz")
            VcfIngestor(sessions).ingest(
                path, "OPEN", assembly_id=assembly, sample_sheet=sheet([sample]),
                callability=Callability(absent="ref"),
            )  # fmt: skip
        served = node_counts(sessions, "OPEN", expected, assembly)
    assert_covers_every_case(expected, assembly)
    wrong = differences(served, expected)
    assert not wrong, f"{len(wrong)} of {len(expected)} differ, e.g. {list(wrong.items())[:4]}"


def test_without_a_sex_calls_count_as_written_until_a_later_sheet_gives_it(
    node: Settings, tmp_path: Path
) -> None:
    """Unknown sex: every call counts as its file wrote it (``+fill-tags`` without
    ``+fixploidy``: a haploid carrier is hemizygous, a diploid-written ``1/1`` homozygous),
    never doubled. A sheet loaded later with another file of the same samples gives their
    sexes, which count from then on for the chrX file loaded before it too."""
    joint = joint_genomes("GRCh38", tmp_path / "genomes")
    on_x, others = tmp_path / "chrX.vcf.gz", tmp_path / "chr22_chrY.vcf.gz"
    bcftools("view", "-r", "chrX", "-Oz", "-o", on_x, joint)
    bcftools("view", "-r", "chr22,chrY", "-Oz", "-o", others, joint)
    samples_tsv = tmp_path / "samples.tsv"  # gdi-node ingest vcf --samples
    rows = "".join(f"{s}\t{info.sex}\n" for s, info in sheet().items())
    samples_tsv.write_text("sample\tsex\n" + rows, encoding="utf-8")
    as_written = {
        k: v for k, v in reference_counts([joint], "GRCh38", fixploidy=False).items()
        if k[0] == "X"
    }  # fmt: skip
    by_sex = reference_counts([joint], "GRCh38")
    assert as_written.items() - by_sex.items()
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(on_x, "OPEN")
        before = node_counts(sessions, "OPEN", as_written, "GRCh38")
        VcfIngestor(sessions).ingest(others, "OPEN", sample_sheet=samples_tsv)
        after = node_counts(sessions, "OPEN", by_sex, "GRCh38")
    assert not differences(before, as_written)
    assert not differences(after, by_sex)
