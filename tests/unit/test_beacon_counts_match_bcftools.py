"""The node's allele counts equal the field's reference, ``bcftools merge`` + ``bcftools
+fill-tags``, on genomes built from the shared 1000 Genomes chr22 VCF (issue #18's proof), on
SQLite and PostgreSQL.

A joint-called multi-sample VCF is counted exactly, and the same samples in a second file are
a re-analysis, never counted twice. Per-genome files (one sample, only the sites it carries)
loaded with ``--absent ref`` count as ``bcftools merge -0``; per-genome gVCFs with dips count as
``bcftools merge -g`` after ``+setGT`` masks GQ < 20 and MIN_DP < 10 (decision record 0021).
Every allele's AC, AN and homozygous count is compared."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.ingest.withdraw import withdraw
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.errors import ConflictError
from tests.support.htsget_setup import node_settings
from tests.support.per_genome import (
    bcftools,
    bcftools_counts,
    joint_subset,
    node_counts,
    per_genome_files,
    per_genome_gvcfs,
    samples_of,
)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    return node_settings(tmp_path, "http://testserver", database_url)


def test_joint_called_counts_equal_bcftools_fill_tags(node: Settings, tmp_path: Path) -> None:
    joint = joint_subset(samples_of()[:40], tmp_path / "joint.vcf.gz")
    expected = bcftools_counts([joint])
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(joint, "OPEN")
        served = node_counts(sessions, "OPEN", expected)
    assert len(expected) > 500
    wrong = {k: (served[k], v) for k, v in expected.items() if served[k] != v}
    assert not wrong, list(wrong.items())[:5]


def test_per_genome_files_with_absent_as_reference_count_like_bcftools_merge_0(
    node: Settings, tmp_path: Path
) -> None:
    files = per_genome_files(samples_of()[:6], tmp_path / "genomes")
    expected = bcftools_counts(files, absent_is_reference=True)
    with migrated_sessions(node) as sessions:
        for path in files:
            VcfIngestor(sessions).ingest(path, "OPEN", callability=Callability(absent="ref"))
        served = node_counts(sessions, "OPEN", expected)
    assert len(expected) > 500
    wrong = {k: (served[k], v) for k, v in expected.items() if served[k] != v}
    assert not wrong, f"{len(wrong)} of {len(expected)} differ, e.g. {list(wrong.items())[:3]}"


def test_per_genome_gvcfs_count_like_bcftools_merge_g_after_masking_low_quality(
    node: Settings, tmp_path: Path
) -> None:
    files = per_genome_gvcfs(samples_of()[:6], tmp_path / "gvcfs")
    expected = bcftools_counts(files, gvcf=True)
    with migrated_sessions(node) as sessions:
        for path in files:
            result = VcfIngestor(sessions).ingest(path, "OPEN")  # mode gvcf: its blocks say
            assert result.status == "loaded"
        served = node_counts(sessions, "OPEN", expected)
    numbers = {an for _, an, _ in expected.values()}
    assert len(expected) > 500
    assert len(numbers) > 3  # the dips make allele numbers differ from site to site
    wrong = {k: (served[k], v) for k, v in expected.items() if served[k] != v}
    assert not wrong, f"{len(wrong)} of {len(expected)} differ, e.g. {list(wrong.items())[:3]}"


def test_the_same_samples_in_two_files_never_count_twice(node: Settings, tmp_path: Path) -> None:
    samples = samples_of()[:4]
    joint = joint_subset(samples, tmp_path / "joint.vcf.gz")
    expected = bcftools_counts([joint])
    copy = tmp_path / "copy.vcf.gz"
    copy.write_bytes(joint.read_bytes())
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(joint, "OPEN")
        with pytest.raises(ConflictError, match="pass --update to replace it"):
            VcfIngestor(sessions).ingest(copy, "OPEN")
        assert node_counts(sessions, "OPEN", expected) == expected
        VcfIngestor(sessions).ingest(copy, "OPEN", update=True)  # a re-analysis replaces
        assert node_counts(sessions, "OPEN", expected) == expected


def _thinned(path: Path, out: Path) -> Path:
    """A re-analysis of a per-genome file: every other record dropped, the first and last kept
    (the same span: it replaces the whole file)."""
    header = bcftools("view", "-h", path)
    body = bcftools("view", "-H", path).splitlines()
    kept = [line for n, line in enumerate(body) if n % 2 == 0 or n == len(body) - 1]
    out.parent.mkdir(parents=True, exist_ok=True)
    plain = out.with_suffix("")
    plain.write_text(header + "\n".join(kept) + "\n", encoding="utf-8")
    bcftools("view", "-Oz", "-o", out, plain)
    bcftools("index", "-t", out)
    plain.unlink()
    return out


def test_a_reanalysis_and_a_withdrawal_leave_the_counts_of_the_files_that_remain(
    node: Settings, tmp_path: Path
) -> None:
    samples = samples_of()[:6]
    files = per_genome_files(samples, tmp_path / "genomes")
    before = bcftools_counts(files)
    again = _thinned(files[0], tmp_path / "reanalysis" / files[0].name)
    remaining = [again, *files[2:]]
    expected = bcftools_counts(remaining)
    with migrated_sessions(node) as sessions:
        load = partial(VcfIngestor(sessions).ingest, callability=Callability(absent="ref"))
        for path in files:
            load(path, "OPEN")
        assert load(again, "OPEN", update=True).status == "replaced"
        withdraw(sessions, "OPEN", biosample_id=samples[1])
        served = node_counts(sessions, "OPEN", before | expected)
    gone = [k for k in before if k not in expected]
    assert gone  # alleles only the replaced and withdrawn files carried
    assert all(served[k][0] == 0 for k in gone), [(k, served[k]) for k in gone[:3]]
    wrong = {k: (served[k], v) for k, v in expected.items() if served[k] != v}
    assert not wrong, f"{len(wrong)} of {len(expected)} differ, e.g. {list(wrong.items())[:3]}"
