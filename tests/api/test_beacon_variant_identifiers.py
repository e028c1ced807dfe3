"""What the frequency browser searches by, through the Beacon itself (decision record 0032):
dbSNP ids from the VCF ID column and VEP's ``Existing_variation`` (records'
``identifiers.variantAlternativeIds``; the ``variantAlternativeId`` request parameter), HGVS
transcript forms with their reference (``genomicAlleleShortForm``), and the consequences per
transcript (``info.transcriptConsequences``). Answers are validated against the Beacon v2.1.1
schemas and the node's OpenAPI document, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import with_budget
from tests.support.beacon_data import write_vcf
from tests.support.beacon_spec import assert_valid_response
from tests.support.htsget_setup import node_settings

BEACON = "/ga4gh/beacon/v2"
SAMPLES = [f"S{i}" for i in range(1, 21)]
CSQ_HEADER = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP.'
    " Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|HGVSc|HGVSp|"
    'Existing_variation">'
)
CSQ = (
    "CSQ=T|missense_variant|MODERATE|GENE1|ENSG1|Transcript|ENST1.1|protein_coding|"
    "ENST1.1:c.10A>T|ENSP1.1:p.Lys4Met|rs1111&COSV99,"
    "T|intron_variant|MODIFIER|GENE1|ENSG1|Transcript|ENST2.1|protein_coding|ENST2.1:c.5+3A>T||"
    "rs1111&COSV99"
)
GENOTYPES = "\t".join(["0/1"] * 10 + ["0/0"] * 10)
RECORDS = [
    f"chr22\t100\trs80357906\tA\tT\t.\tPASS\t{CSQ}\tGT\t{GENOTYPES}",
    f"chr22\t200\t.\tC\tG\t.\tPASS\t.\tGT\t{GENOTYPES}",
]


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """The node on each database (the terms are searched in SQL)."""
    tmp = tmp_path
    settings: Settings = with_budget(
        node_settings(tmp, "http://node.test", database_url=database_url), units=10**6
    )
    vcf = write_vcf(tmp / "ids.vcf.gz", SAMPLES, RECORDS, headers=[CSQ_HEADER])
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN")
    with create_app(settings, validate_responses=True).test_client() as test_client:
        yield test_client


def records(client: Any, query: str) -> list[dict[str, Any]]:
    response = client.get(f"{BEACON}/g_variants?{query}&requestedGranularity=record")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert_valid_response(document)
    return [r for rs in document["response"]["resultSets"] for r in rs["results"]]


def test_dbsnp_ids_of_the_id_column_and_of_vep_are_alternative_ids(client: Any) -> None:
    (record,) = records(client, "referenceName=22&start=99&alternateBases=T")
    ids = record["identifiers"]["variantAlternativeIds"]
    assert [x["id"] for x in ids] == ["dbSNP:rs1111", "dbSNP:rs80357906"]  # not COSMIC's
    assert ids[1]["reference"] == "https://www.ncbi.nlm.nih.gov/snp/rs80357906"


@pytest.mark.parametrize("asked", ["rs80357906", "RS80357906", "dbSNP:rs80357906", "dbsnp:rs1111"])
def test_variant_alternative_id_finds_the_variants_with_that_dbsnp_id(
    client: Any, asked: str
) -> None:
    found = records(client, f"variantAlternativeId={asked}")
    assert [r["variantInternalId"] for r in found] == ["GRCh38:22:100:A:T"]


def test_an_unknown_dbsnp_id_finds_nothing_and_a_malformed_one_is_a_400(client: Any) -> None:
    assert records(client, "variantAlternativeId=rs1") == []
    response = client.get(f"{BEACON}/g_variants?variantAlternativeId=COSV99")
    assert response.status_code == 400
    assert "give a dbSNP id" in response.json()["error"]["errorMessage"]


def test_transcript_hgvs_with_its_reference_finds_the_variant(client: Any) -> None:
    found = records(client, "genomicAlleleShortForm=ENST1.1:c.10A%3ET")
    assert [r["variantInternalId"] for r in found] == ["GRCh38:22:100:A:T"]
    assert records(client, "genomicAlleleShortForm=ENSP1.1:p.Lys4Met") == found


def test_records_list_the_consequences_of_each_transcript(client: Any) -> None:
    (record,) = records(client, "variantAlternativeId=rs80357906")
    assert record["info"]["transcriptConsequences"] == [
        {
            "feature": "ENST1.1",
            "gene": "GENE1",
            "effects": ["missense_variant"],
            "hgvsc": "c.10A>T",
            "hgvsp": "p.Lys4Met",
        },
        {"feature": "ENST2.1", "gene": "GENE1", "effects": ["intron_variant"], "hgvsc": "c.5+3A>T"},
    ]
    assert record["info"]["filterStatus"] == ["PASS"]


def test_a_record_without_annotation_has_no_identifiers_but_its_genomic_hgvs(client: Any) -> None:
    (record,) = records(client, "referenceName=22&start=199&alternateBases=G")
    assert record["identifiers"] == {"genomicHGVSId": "NC_000022.11:g.200C>G"}
    assert "transcriptConsequences" not in record.get("info", {})
