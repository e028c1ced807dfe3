"""Sample identity (issue #18): a sample is its biosample id (the sample sheet's, else the VCF
column). Per-chromosome files of one genome add up; a file bringing a loaded sample for a
contig it is loaded for is a re-analysis: refused without ``--update`` (a sample never counts
twice), replacing the earlier file with it; a genome or a file is withdrawn without reloading
the others. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.ingest.withdraw import withdraw
from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.errors import ConflictError, NotFoundError
from tests.support.beacon_data import allele_counts, table_counts, write_vcf

DS = "DS-PUBLIC"
NOCALL = Callability(absent="nocall")  # single-sample files: called where they have a record
ON_22 = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t{}"
ON_X = "chrX\t300\t.\tG\tT\t.\tPASS\t.\tGT\t{}"


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def counts(
    sessions: sessionmaker[Session], chrom: str, pos: int, ref: str, alt: str
) -> tuple[int, int, int]:
    """AC, AN and homozygotes of one allele in the dataset, as served."""
    key = AlleleKey("GRCh38", chrom, pos - 1, ref, alt)
    found: AlleleCounts = allele_counts(sessions, key, DS)
    return found.allele_count, found.allele_number, found.homozygous


def genome(tmp: Path, name: str, column: str, *records: str) -> Path:
    return write_vcf(tmp / name, [column], list(records))


def sheet(tmp: Path, name: str, rows: dict[str, str]) -> Path:
    path = tmp / name
    lines = ["sample\tbiosample_id", *(f"{c}\t{b}" for c, b in rows.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_per_chromosome_files_of_one_genome_add_up(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    ingest(genome(tmp_path, "hg1.chr22.vcf.gz", "HG1", ON_22.format("0/1")), DS)
    ingest(genome(tmp_path, "hg1.chrX.vcf.gz", "HG1", ON_X.format("1/1")), DS)
    assert table_counts(sessions)["beacon_samples"] == 1
    assert counts(sessions, "22", 100, "A", "G") == (1, 2, 0)
    assert counts(sessions, "X", 300, "G", "T") == (2, 2, 1)


def test_a_loaded_sample_on_a_loaded_contig_is_refused_without_update(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    ingest(genome(tmp_path, "first.vcf.gz", "HG1", ON_22.format("0/1")), DS)
    again = genome(tmp_path, "second.vcf.gz", "HG1", ON_22.format("1/1"))
    with pytest.raises(ConflictError, match=r"HG1 already loaded .* for 22 from first\.vcf\.gz"):
        ingest(again, DS)
    assert counts(sessions, "22", 100, "A", "G") == (1, 2, 0)  # the first file, once
    assert table_counts(sessions)["beacon_callsets"] == 1  # nothing of the refused one left


def test_a_reanalysis_with_update_replaces_the_earlier_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    ingest(genome(tmp_path, "HG1.vcf.gz", "HG1", ON_22.format("0/1")), DS)
    ingest(genome(tmp_path, "HG2.vcf.gz", "HG2", ON_22.format("0/1")), DS)
    result = ingest(genome(tmp_path, "HG1.v2.vcf.gz", "HG1", ON_22.format("1/1")), DS, update=True)
    assert result.status == "replaced"
    assert counts(sessions, "22", 100, "A", "G") == (3, 4, 1)  # HG1 now 1/1, HG2 0/1
    assert table_counts(sessions)["beacon_callsets"] == 2


def test_the_same_biosample_under_another_column_is_the_same_sample(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    ingest(genome(tmp_path, "a.vcf.gz", "HG1", ON_22.format("0/1")), DS)
    renamed = genome(tmp_path, "b.vcf.gz", "LIB-7", ON_22.format("0/1"))
    with pytest.raises(ConflictError, match="HG1 already loaded"):
        ingest(renamed, DS, sample_sheet=sheet(tmp_path, "s.tsv", {"LIB-7": "HG1"}))


def test_a_column_naming_another_biosample_is_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    ingest(genome(tmp_path, "a.vcf.gz", "SAMPLE", ON_22.format("0/1")), DS)
    other = genome(tmp_path, "b.vcf.gz", "SAMPLE", ON_X.format("0/1"))
    with pytest.raises(ConflictError, match="'SAMPLE' already names biosample 'SAMPLE'"):
        ingest(other, DS, sample_sheet=sheet(tmp_path, "s.tsv", {"SAMPLE": "BS-2"}))


def test_a_reanalysis_may_not_split_a_joint_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    joint = write_vcf(tmp_path / "joint.vcf.gz", ["HG1", "HG2"], [ON_22.format("0/1\t0/0")])
    ingest(joint, DS)
    alone = genome(tmp_path, "HG1.vcf.gz", "HG1", ON_22.format("1/1"))
    with pytest.raises(ConflictError, match="also holds 1 other samples"):
        ingest(alone, DS, update=True)
    assert counts(sessions, "22", 100, "A", "G") == (1, 4, 0)


def test_withdrawing_a_genome_leaves_the_others(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    ingest(genome(tmp_path, "HG1.chr22.vcf.gz", "HG1", ON_22.format("1/1")), DS)
    ingest(genome(tmp_path, "HG1.chrX.vcf.gz", "HG1", ON_X.format("1/1")), DS)
    ingest(genome(tmp_path, "HG2.vcf.gz", "HG2", ON_22.format("0/1")), DS)
    done = withdraw(sessions, DS, biosample_id="HG1")
    assert done.files == ["HG1.chr22.vcf.gz", "HG1.chrX.vcf.gz"]
    assert counts(sessions, "22", 100, "A", "G") == (1, 2, 0)
    assert counts(sessions, "X", 300, "G", "T") == (0, 0, 0)
    assert table_counts(sessions)["beacon_samples"] == 1
    with pytest.raises(NotFoundError, match="no genotypes of biosample 'HG1'"):
        withdraw(sessions, DS, biosample_id="HG1")
    assert withdraw(sessions, DS, file_name="HG2.vcf.gz").files == ["HG2.vcf.gz"]
    assert table_counts(sessions)["beacon_variants"] == 0


def test_a_sample_of_a_joint_file_cannot_be_withdrawn_alone(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    joint = write_vcf(tmp_path / "joint.vcf.gz", ["HG1", "HG2"], [ON_22.format("0/1\t0/1")])
    VcfIngestor(sessions).ingest(joint, DS)
    with pytest.raises(ConflictError, match=r"HG1 is in joint\.vcf\.gz with 1 other samples"):
        withdraw(sessions, DS, biosample_id="HG1")
    assert counts(sessions, "22", 100, "A", "G") == (2, 4, 0)


def test_another_genome_in_a_file_of_the_same_name_never_replaces_the_first(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    (tmp_path / "G1").mkdir()
    (tmp_path / "G2").mkdir()
    ingest(genome(tmp_path / "G1", "genome.vcf.gz", "HG1", ON_22.format("0/1")), DS)
    second = genome(tmp_path / "G2", "genome.vcf.gz", "HG2", ON_22.format("1/1"))
    for update in (False, True):
        with pytest.raises(ConflictError, match="already loaded into DS-PUBLIC with other samples"):
            ingest(second, DS, update=update)
    assert counts(sessions, "22", 100, "A", "G") == (1, 2, 0)  # HG1 is still there, alone
    again = genome(tmp_path / "G1", "genome.vcf.gz", "HG1", ON_22.format("1/1"))
    assert ingest(again, DS, update=True).status == "replaced"  # its own re-analysis
    assert counts(sessions, "22", 100, "A", "G") == (2, 2, 1)
