"""``ingest vcf``: carrier sets give the VCF's own AC/AN; multi-allelic records are split;
missing and haploid calls count right; loads are transactional and idempotent; annotations
become genes, HGVS and amino-acid changes. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cyvcf2 import VCF
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconSample, BeaconVariant, BeaconVariantTerm
from gdi_node.errors import ConflictError, InvalidInputError, NotFoundError
from tests.conftest import shared_path
from tests.support.beacon_data import ANN_HEADER, CSQ_HEADER, allele_counts, table_counts, write_vcf

SAMPLES = ["S1", "S2", "S3", "S4"]
RECORDS = [
    # multi-allelic: S1 1/2, S2 2/2, S3 ./., S4 0/1
    "chr22\t100\t.\tA\tC,G\t.\tPASS\t.\tGT\t1/2\t2/2\t./.\t0/1",
    # half-missing and phased: S1 .|1, S2 0|0, S3 1|1, S4 0/0
    "chr22\t200\t.\tAT\tA\t.\tPASS\t.\tGT\t.|1\t0|0\t1|1\t0/0",
    # chrX with haploid calls: S1 1, S2 0, S3 1/1, S4 .
    "chrX\t300\t.\tG\tT\t.\tPASS\t.\tGT\t1\t0\t1/1\t.",
    # a spanning deletion placeholder is not an allele of its own
    "chr22\t400\t.\tC\tT,*\t.\tPASS\t.\tGT\t0/1\t0/2\t0/0\t0/0",
]


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def _key(chrom: str, pos: int, ref: str, alt: str) -> AlleleKey:
    return AlleleKey("GRCh38", chrom, pos - 1, ref, alt)


def test_counts_equal_the_ac_and_an_of_the_1000_genomes_file(
    sessions: sessionmaker[Session],
) -> None:
    path = shared_path("data", "vcf", "test_1000G_hg38.vcf.gz")
    result = VcfIngestor(sessions).ingest(path, "DS-PUBLIC")
    # 46 records have no ALT call in the file: an allele without a carrier or a missing call
    # is not stored (bcftools view -i 'INFO/AC=0' | wc -l)
    assert (result.records, result.alleles, result.samples) == (3042, 2996, 2548)
    for checked, record in enumerate(VCF(str(path))):
        if checked % 25 == 0:  # 122 sites, spread over the file
            counts = allele_counts(
                sessions, _key("22", record.POS, record.REF, record.ALT[0]), "DS-PUBLIC"
            )
            assert counts.allele_count == record.INFO["AC"]
            assert counts.allele_number == record.INFO["AN"]
            assert round(counts.frequency, 2) == pytest.approx(record.INFO["AF"], abs=0.0051)


def test_multiallelic_records_are_split_and_missing_haploid_calls_counted(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_vcf(tmp_path / "small.vcf.gz", SAMPLES, RECORDS)
    result = VcfIngestor(sessions).ingest(path, "DS-PUBLIC")
    assert (result.records, result.alleles) == (4, 5)
    c = allele_counts(sessions, _key("22", 100, "A", "C"), "DS-PUBLIC")
    g = allele_counts(sessions, _key("22", 100, "A", "G"), "DS-PUBLIC")
    assert (c.allele_count, c.allele_number, c.carriers, c.homozygous) == (2, 6, 2, 0)
    assert (g.allele_count, g.allele_number, g.carriers, g.homozygous) == (3, 6, 2, 1)
    deletion = allele_counts(sessions, _key("22", 200, "AT", "A"), "DS-PUBLIC")
    assert (deletion.allele_count, deletion.allele_number, deletion.homozygous) == (3, 7, 1)
    haploid = allele_counts(sessions, _key("X", 300, "G", "T"), "DS-PUBLIC")
    assert (haploid.allele_count, haploid.allele_number, haploid.carriers) == (3, 4, 2)
    with sessions() as session:
        alts = session.scalars(select(BeaconVariant.alt).where(BeaconVariant.start == 399))
        assert list(alts) == ["T"]


def test_loading_the_same_file_twice_changes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_vcf(tmp_path / "small.vcf.gz", SAMPLES, RECORDS)
    VcfIngestor(sessions).ingest(path, "DS-PUBLIC")
    before = table_counts(sessions)
    again = VcfIngestor(sessions).ingest(path, "DS-PUBLIC")
    assert again.status == "unchanged"
    assert table_counts(sessions) == before


def test_changed_content_needs_update_then_replaces_the_earlier_load(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_vcf(tmp_path / "small.vcf.gz", SAMPLES, RECORDS)
    VcfIngestor(sessions).ingest(path, "DS-PUBLIC")
    write_vcf(path, SAMPLES, RECORDS[:1])
    with pytest.raises(ConflictError, match="--update"):
        VcfIngestor(sessions).ingest(path, "DS-PUBLIC")
    replaced = VcfIngestor(sessions).ingest(path, "DS-PUBLIC", update=True)
    assert replaced.status == "replaced"
    assert table_counts(sessions)["beacon_variants"] == 2
    assert allele_counts(sessions, _key("22", 200, "AT", "A"), "DS-PUBLIC").allele_count == 0


def test_a_broken_record_loads_nothing(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    broken = [*RECORDS[:2], "chr22\tnot-a-position\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/1\t0/1\t0/1"]
    path = write_vcf(tmp_path / "broken.vcf.gz", SAMPLES, broken, bgzip=False)
    before = table_counts(sessions)
    with pytest.raises(InvalidInputError):
        VcfIngestor(sessions, batch_size=1).ingest(path, "DS-PUBLIC")
    assert table_counts(sessions) == before


def test_ploidy_above_two_is_refused_and_nothing_is_loaded(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    records = [RECORDS[0], "chr22\t500\t.\tA\tC\t.\tPASS\t.\tGT\t0/1/1\t0/0/0\t0/1\t0/0"]
    path = write_vcf(tmp_path / "triploid.vcf.gz", SAMPLES, records)
    with pytest.raises(InvalidInputError, match="more than two alleles"):
        VcfIngestor(sessions, batch_size=1).ingest(path, "DS-PUBLIC")
    assert table_counts(sessions)["beacon_variants"] == 0


def test_unknown_dataset_file_or_assembly_is_a_clear_error(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_vcf(tmp_path / "small.vcf.gz", SAMPLES, RECORDS)
    with pytest.raises(NotFoundError, match="not declared"):
        VcfIngestor(sessions).ingest(path, "NO-SUCH")
    with pytest.raises(NotFoundError, match="no such file"):
        VcfIngestor(sessions).ingest(tmp_path / "missing.vcf.gz", "DS-PUBLIC")
    with pytest.raises(InvalidInputError, match="unknown assembly"):
        VcfIngestor(sessions).ingest(path, "DS-PUBLIC", assembly_id="hg17")
    not_vcf = tmp_path / "notes.vcf"
    not_vcf.write_text("hello\n", encoding="utf-8")
    with pytest.raises(InvalidInputError):
        VcfIngestor(sessions).ingest(not_vcf, "DS-PUBLIC")
    assert table_counts(sessions)["beacon_callsets"] == 0


def test_sample_sheet_maps_individuals_populations_and_cohorts(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_vcf(tmp_path / "small.vcf.gz", SAMPLES, RECORDS)
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "sample\tindividual_id\tbiosample_id\tpopulation\tcohorts\n"
        "S1\tIND-1\tBS-1\tEUR\trare-disease,trio\n"
        "S2\tIND-2\t\tEUR\t\n"
        "S3\tIND-3\tBS-3\tAFR\trare-disease\n",
        encoding="utf-8",
    )
    VcfIngestor(sessions).ingest(path, "DS-PUBLIC", sample_sheet=sheet)
    with sessions() as session:
        rows = {r.name: r for r in session.scalars(select(BeaconSample))}
    assert (rows["S1"].individual_id, rows["S1"].biosample_id) == ("IND-1", "BS-1")
    assert (rows["S2"].biosample_id, rows["S4"].individual_id) == ("S2", "S4")
    eur = allele_counts(sessions, _key("22", 100, "A", "G"), "DS-PUBLIC", ("population", "EUR"))
    assert (eur.allele_count, eur.allele_number) == (3, 4)  # S1 1/2, S2 2/2
    cohort = allele_counts(
        sessions, _key("22", 100, "A", "G"), "DS-PUBLIC", ("cohort", "rare-disease")
    )
    assert (cohort.allele_count, cohort.allele_number) == (1, 2)  # S1; S3 is ./.
    bad = tmp_path / "bad.tsv"
    bad.write_text("sample\tpopulaton\nS1\tEUR\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="unknown: populaton"):
        VcfIngestor(sessions).ingest(path, "DS-PUBLIC", sample_sheet=bad, update=True)
    stranger = tmp_path / "stranger.tsv"
    stranger.write_text("sample\nS9\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="S9"):
        VcfIngestor(sessions).ingest(path, "DS-PUBLIC", sample_sheet=stranger, update=True)


def test_files_of_one_dataset_share_sample_numbers(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first = write_vcf(tmp_path / "chr22.vcf.gz", SAMPLES, RECORDS[:2])
    second = write_vcf(tmp_path / "chrX.vcf.gz", SAMPLES, RECORDS[2:3])
    VcfIngestor(sessions).ingest(first, "DS-PUBLIC")
    VcfIngestor(sessions).ingest(second, "DS-PUBLIC")
    assert table_counts(sessions)["beacon_samples"] == 4
    other = write_vcf(tmp_path / "other.vcf.gz", SAMPLES, RECORDS[:1])
    VcfIngestor(sessions).ingest(other, "DS-CONTROLLED")
    assert table_counts(sessions)["beacon_samples"] == 8  # per dataset


def test_annotations_give_genes_hgvs_and_aminoacid_changes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ann = (
        "ANN=T|missense_variant|MODERATE|BRAF|ENSG00000157764|transcript|ENST00000646891.2|"
        "protein_coding|15/18|c.1799T>A|p.Val600Glu|||||"
    )
    csq = (
        "CSQ=-|frameshift_variant|HIGH|TP53|ENSG1|Transcript|ENST2.1|protein_coding|||"
        "ENST2.1:c.215del|ENSP2.1:p.Pro72ArgfsTer51|1"
    )
    records = [
        f"chr22\t100\t.\tA\tT\t.\tPASS\t{ann}\tGT\t0/1\t0/0\t0/0\t0/0",
        f"chr22\t200\t.\tCA\tC\t.\tPASS\t{csq}\tGT\t0/1\t0/0\t0/0\t0/0",
    ]
    path = write_vcf(tmp_path / "ann.vcf.gz", SAMPLES, records, headers=[ANN_HEADER, CSQ_HEADER])
    VcfIngestor(sessions).ingest(path, "DS-PUBLIC")
    with sessions() as session:
        terms = {(t.kind, t.term) for t in session.scalars(select(BeaconVariantTerm))}
    assert {
        ("gene", "BRAF"),
        ("aachange", "V600E"),
        ("gene", "TP53"),
        ("hgvs", "NC_000022.11:g.100A>T"),
        ("hgvs", "NC_000022.11:g.201del"),
    } <= terms
