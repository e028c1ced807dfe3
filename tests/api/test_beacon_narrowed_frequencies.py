"""A frequency item narrowed by a query's filters is left out when what the filters leave out of
the dataset is a small count: the dataset's exact count minus the narrowed one would give it
away (complementary suppression, decision record 0022).

Ten genotyped people IND-1..IND-10 (the metadata set of tests/support/beacon_metadata.py) in
the PUBLIC dataset OPEN, which anonymous callers see as records with small counts bounded.
Everyone is heterozygous at chr22:100 A>G. Platelets at most 300 keep IND-1..IND-6 (AC 6; the
four left out carry 4); onset at 60 or later keeps IND-6..IND-10 (AC 5; the five left out
carry 5). On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gdi_node.app import create_app
from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from tests.api.test_beacon_api import beacon, passport, with_budget
from tests.support.beacon_data import write_vcf
from tests.support.beacon_metadata import sample_sheet, write_metadata
from tests.support.htsget_setup import node_settings

ALLELE = "/g_variants/GRCh38:22:100:A:G?requestedGranularity=record"
LEAVES_OUT_FOUR_CARRIERS = "LOINC:26515-7:<=300"
LEAVES_OUT_FIVE_CARRIERS = "ageOfOnset:>=P60Y"


def items(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (result_set,) = [s for s in document["response"]["resultSets"] if s["id"] == "OPEN"]
    (record,) = result_set["results"]
    return {
        item["population"]: item
        for populations in record.get("frequencyInPopulations", [])
        for item in populations["frequencies"]
    }


def test_a_filtered_item_is_left_out_when_what_the_filter_leaves_out_is_small(
    tmp_path: Path, database_url: str
) -> None:
    settings = with_budget(node_settings(tmp_path, "http://testserver", database_url), units=10**6)
    files = [f for f in write_metadata(tmp_path / "metadata") if f.name != "datasets.json"]
    people = [f"S{n}" for n in range(1, 11)]
    vcf = write_vcf(
        tmp_path / "open.vcf.gz",
        people,
        ["chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 10)],
    )
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN", sample_sheet=sample_sheet(tmp_path / "s.tsv"))
        MetadataIngestor(sessions).ingest(files, "OPEN")
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40031)) as client:
        status, document = beacon(client, ALLELE)
        assert status == 200
        assert items(document)["OPEN"]["alleleCount"] == 10  # the dataset: exact
        status, document = beacon(client, f"{ALLELE}&filters={LEAVES_OUT_FOUR_CARRIERS}")
        assert status == 200
        assert document["responseSummary"]["exists"] is True  # found, without its counts
        assert items(document) == {}
        status, document = beacon(client, f"{ALLELE}&filters={LEAVES_OUT_FIVE_CARRIERS}")
        assert status == 200
        assert items(document)["OPEN"]["alleleCount"] == 5
        # a grant sees the narrowed counts whatever they leave out
        grant = passport(settings, ["OPEN"])
        query = f"{ALLELE}&filters={LEAVES_OUT_FOUR_CARRIERS}"
        status, document = beacon(client, query, headers=grant)
        assert items(document)["OPEN"]["alleleCount"] == 6
