"""Filtered records are not counted unless the load says so (issue #18; VCF 4.3 §1.6.1 FILTER;
gdi_node.beacon.ingest.callability): by default only ``PASS`` and ``.`` records count, as
``bcftools view -f PASS,.`` keeps them; a filtered record's samples count as not called there
(a gap in a gVCF); ``--count-filter`` counts more; a record names the FILTER of the counted
calls (``info.filterStatus``). On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.alleles import g_variant_document, group_alleles
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.beacon.store.variant_rows import VariantRepository
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.support.beacon_data import write_vcf
from tests.support.htsget_setup import node_settings
from tests.support.per_genome import Counts, bcftools_counts, node_counts

SAMPLES = ["A", "B", "C", "D"]
JOINT = [
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0\t0/0",
    "chr22\t200\t.\tC\tT\t.\tLowQual\t.\tGT\t0/1\t0/0\t0/0\t0/1",
    "chr22\t300\t.\tG\tA\t.\t.\t.\tGT\t0/1\t0/1\t0/0\t0/0",
    "chr22\t400\t.\tT\tC\t.\tLowQual;SnpCluster\t.\tGT\t1/1\t0/0\t0/0\t0/0",
]
FILTER_HEADERS = [
    '##FILTER=<ID=LowQual,Description="Low quality">',
    '##FILTER=<ID=SnpCluster,Description="Clustered SNPs">',
]
GVCF_HEADERS = [
    *FILTER_HEADERS,
    '##ALT=<ID=NON_REF,Description="Any other allele">',
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
]


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    return node_settings(tmp_path, "http://testserver", database_url)


def served(settings: Settings, expected: Counts) -> Counts:
    with migrated_sessions(settings) as sessions:
        return node_counts(sessions, "OPEN", expected)


def kept_by_bcftools(vcf: Path, tmp_path: Path, filters: str) -> Path:
    """The records ``bcftools view -f`` keeps, as the field filters before counting."""
    kept = tmp_path / f"kept-{filters.replace(',', '_').replace('.', 'dot')}.vcf.gz"
    subprocess.run(
        ["bcftools", "view", "-f", filters, "-Oz", "-o", str(kept), str(vcf)], check=True
    )
    return kept


def test_filtered_records_of_a_joint_file_are_not_counted_by_default(
    node: Settings, tmp_path: Path
) -> None:
    vcf = write_vcf(tmp_path / "joint.vcf.gz", SAMPLES, JOINT, headers=FILTER_HEADERS)
    expected = bcftools_counts([kept_by_bcftools(vcf, tmp_path, "PASS,.")])
    assert set(expected) == {("22", 100, "A", "G"), ("22", 300, "G", "A")}
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN")
    ours = served(node, {**expected, ("22", 200, "C", "T"): (0, 0, 0)})
    assert {k: ours[k] for k in expected} == expected
    assert ours[("22", 200, "C", "T")][0] == 0  # its carriers are not counted


def test_count_filter_counts_the_records_whose_every_filter_it_names(
    node: Settings, tmp_path: Path
) -> None:
    vcf = write_vcf(tmp_path / "joint.vcf.gz", SAMPLES, JOINT, headers=FILTER_HEADERS)
    expected = bcftools_counts([kept_by_bcftools(vcf, tmp_path, "PASS,.,LowQual")])
    with migrated_sessions(node) as sessions:
        counting = Callability(count_filters=frozenset({"LowQual"}))
        VcfIngestor(sessions).ingest(vcf, "OPEN", callability=counting)
    ours = served(node, {**expected, ("22", 400, "T", "C"): (0, 0, 0)})
    assert ours[("22", 200, "C", "T")] == expected[("22", 200, "C", "T")] == (2, 8, 0)
    assert ours[("22", 400, "T", "C")][0] == 0  # LowQual;SnpCluster: SnpCluster not counted
    with migrated_sessions(node) as sessions, sessions() as session:
        scopes = ScopeCache().get(session)
        repo = VariantRepository(session, scopes.max_span)
        notes = {}
        for position, ref, alt in ((100, "A", "G"), (200, "C", "T")):
            (allele,) = group_alleles(
                repo.by_allele(AlleleKey("GRCh38", "22", position - 1, ref, alt), ["OPEN"])
            )
            notes[position] = g_variant_document(allele, [])["info"]["filterStatus"]
    assert notes == {100: ["PASS"], 200: ["LowQual"]}


def test_a_filtered_call_in_a_gvcf_is_a_gap_for_its_sample(node: Settings, tmp_path: Path) -> None:
    """Two genomes carry chr22:100 A>G; the first's call is LowQual: one carrier, and that
    genome is not called there (AN 2), as bcftools merge -g gives once the record is dropped."""
    files = []
    for name, filtered in (("A", True), ("B", False)):
        records = [
            "chr22\t1\t.\tN\t<NON_REF>\t.\t.\tEND=99\tGT:GQ:DP\t0/0:40:30",
            f"chr22\t100\t.\tA\tG,<NON_REF>\t50\t{'LowQual' if filtered else 'PASS'}\t.\t"
            "GT:GQ:DP\t0/1:40:30",
            "chr22\t101\t.\tC\t<NON_REF>\t.\t.\tEND=1000\tGT:GQ:DP\t0/0:40:30",
        ]
        path = write_vcf(tmp_path / f"{name}.g.vcf.gz", [name], records, headers=GVCF_HEADERS)
        files.append(path)
    with migrated_sessions(node) as sessions:
        for path in files:
            assert VcfIngestor(sessions).ingest(path, "OPEN").status == "loaded"  # mode gvcf
    assert served(node, {("22", 100, "A", "G"): (0, 0, 0)}) == {("22", 100, "A", "G"): (1, 2, 0)}
