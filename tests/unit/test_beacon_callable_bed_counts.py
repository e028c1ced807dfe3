"""Per-genome files loaded with callable-regions BEDs count like ``bcftools merge -0`` with
each sample's genotypes outside its BED set missing, then ``bcftools +fill-tags`` (decision
record 0024), one file at a time and as a batch from a manifest's ``callable_bed`` column.
Every allele's AC, AN and homozygous count is compared (heterozygous = AC - 2 x homozygous).
Genomes are cut from the shared 1000 Genomes chr22 VCF; SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.cli import main
from gdi_node.config.settings import Settings
from tests.support.callable_beds import bcftools_counts_with_beds, callable_beds
from tests.support.htsget_setup import node_settings
from tests.support.per_genome import (
    Counts,
    bcftools_counts,
    node_counts,
    per_genome_files,
    samples_of,
)
from tests.unit import test_beacon_cli

# the node on each database and its config file, as the other command-line tests have them
settings = test_beacon_cli.settings
config_file = test_beacon_cli.config_file


@pytest.fixture(scope="module")
def genomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path], Counts]:
    """Eight per-genome VCFs with their BEDs in one folder, and bcftools' counts for them."""
    folder = tmp_path_factory.mktemp("genomes")
    files = per_genome_files(samples_of()[:8], folder)
    beds = callable_beds(files, folder)
    return files, beds, bcftools_counts_with_beds(files, beds, folder)


def check(served: Counts, expected: Counts, everything: Counts) -> None:
    """The node's counts are bcftools'; alleles carried only outside the BEDs count nowhere."""
    assert len(expected) > 400
    assert len({an for _, an, _ in expected.values()}) > 4  # the BEDs make the numbers differ
    wrong = {k: (served[k], v) for k, v in expected.items() if served[k] != v}
    assert not wrong, f"{len(wrong)} of {len(expected)} differ, e.g. {list(wrong.items())[:3]}"
    outside = [k for k in everything if k not in expected]
    assert outside  # carried only outside their carriers' BEDs
    assert all(served[k][0] == 0 for k in outside), [(k, served[k]) for k in outside[:3]]


def test_per_genome_files_with_callable_beds_count_like_bcftools_merge_0_masked_outside_them(
    tmp_path: Path, database_url: str, genomes: tuple[list[Path], list[Path], Counts]
) -> None:
    files, beds, expected = genomes
    everything = bcftools_counts(files)
    node = node_settings(tmp_path, "http://testserver", database_url)
    with migrated_sessions(node) as sessions:
        for path, bed in zip(files, beds, strict=True):
            callability = Callability(callable_bed=bed)
            result = VcfIngestor(sessions).ingest(path, "OPEN", callability=callability)
            assert result.status == "loaded"
        served = node_counts(sessions, "OPEN", everything)
    check(served, expected, everything)


def test_a_manifest_gives_each_file_its_callable_bed_relative_to_the_manifest(
    config_file: Path, settings: Settings, genomes: tuple[list[Path], list[Path], Counts]
) -> None:
    files, beds, expected = genomes
    folder = files[0].parent
    manifest = folder.parent / "manifest.tsv"  # beside the folder: paths relative to it
    pairs = zip(files, beds, strict=True)
    rows = [f"{folder.name}/{f.name}\t{folder.name}/{b.name}\n" for f, b in pairs]
    manifest.write_text("path\tcallable_bed\n" + "".join(rows), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["-c", str(config_file), "ingest", "vcf", "--manifest", str(manifest), "--jobs", "2",
         "--dataset", "DS-PUBLIC", "--absent", "nocall"],  # a row's BED replaces --absent
        catch_exceptions=False,
    )  # fmt: skip
    manifest.unlink()
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "8 files into DS-PUBLIC: 8 loaded" in result.stdout
    everything = bcftools_counts(files)
    with migrated_sessions(settings) as sessions:
        served = node_counts(sessions, "DS-PUBLIC", everything)
    check(served, expected, everything)
