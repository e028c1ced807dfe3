"""Absent told from not covered (issue #21, decision record 0032): a sequence query that finds
no allele in a dataset answered at count or record granularity says how many chromosomes were
called at the site (``info.alleleNumberAtSite``), as the allele's record would: no-calls at a
record of the site, files that do not speak for the position and opted-out people are left out.
Not said at boolean granularity, nor when filters narrow the answer. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import with_budget
from tests.support.beacon_data import write_vcf
from tests.support.beacon_spec import assert_valid_response
from tests.support.htsget_setup import node_settings

BEACON = "/ga4gh/beacon/v2"
SAMPLES = [f"S{i}" for i in range(1, 21)]
# chr22:100 A>G: S1 carries it, S2 and S3 were not called there, the rest are reference
GENOTYPES = "\t".join(["0/1", "./.", "./."] + ["0/0"] * 17)
JOINT = [f"chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t{GENOTYPES}"]
ABSENT = "referenceName=22&start=99&referenceBases=A&alternateBases=T"  # not in the file


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    return with_budget(node_settings(tmp_path, "http://testserver", database_url), units=10**6)


def result_set(node: Settings, query: str, granularity: str) -> dict[str, Any]:
    url = f"{BEACON}/g_variants?{query}&requestedGranularity={granularity}"
    with create_app(node, validate_responses=True).test_client() as client:
        response = client.get(f"{url}&includeResultsetResponses=ALL")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert_valid_response(document)
    (found,) = [rs for rs in document["response"]["resultSets"] if rs["id"] == "OPEN"]
    return dict(found)


@pytest.mark.parametrize("granularity", ["record", "count"])
def test_an_absent_allele_says_the_chromosomes_called_at_its_site(
    node: Settings, tmp_path: Path, granularity: str
) -> None:
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(write_vcf(tmp_path / "j.vcf.gz", SAMPLES, JOINT), "OPEN")
    found = result_set(node, ABSENT, granularity)
    assert found["exists"] is False
    assert found["info"]["alleleNumberAtSite"] == 36  # 18 people called, S2 and S3 not
    elsewhere = result_set(node, "referenceName=22&start=4999&alternateBases=T", granularity)
    assert elsewhere["info"]["alleleNumberAtSite"] == 40  # joint-called: reference there


def test_a_found_allele_and_a_boolean_answer_say_nothing_of_the_site(
    node: Settings, tmp_path: Path
) -> None:
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(write_vcf(tmp_path / "j.vcf.gz", SAMPLES, JOINT), "OPEN")
    present = result_set(
        node, "referenceName=22&start=99&referenceBases=A&alternateBases=G", "record"
    )
    assert "alleleNumberAtSite" not in present.get("info", {})
    assert (
        present["results"][0]["frequencyInPopulations"][0]["frequencies"][-1]["alleleNumber"] == 36
    )
    assert "alleleNumberAtSite" not in result_set(node, ABSENT, "boolean").get("info", {})


def test_an_answer_narrowed_by_population_filters_says_nothing_of_the_site(
    node: Settings, tmp_path: Path
) -> None:
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(write_vcf(tmp_path / "j.vcf.gz", SAMPLES, JOINT), "OPEN")
    query = {
        "requestParameters": {"referenceName": "22", "start": [99], "referenceBases": "A",
                              "alternateBases": "T"},
        "filters": [{"id": "sexFilter", "operator": "=", "value": "F"}],
        "requestedGranularity": "count",
        "includeResultsetResponses": "ALL",
    }  # fmt: skip
    with create_app(node, validate_responses=True).test_client() as client:
        response = client.post(f"{BEACON}/g_variants", json={"meta": {}, "query": query})
    assert response.status_code == 200, response.text
    for found in response.json()["response"]["resultSets"]:
        assert "alleleNumberAtSite" not in found.get("info", {})


def test_opted_out_people_are_not_counted_at_the_site(node: Settings, tmp_path: Path) -> None:
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(write_vcf(tmp_path / "j.vcf.gz", SAMPLES, JOINT), "OPEN")
        ConsentRegistry(sessions).opt_out(["S20"])
    assert result_set(node, ABSENT, "count")["info"]["alleleNumberAtSite"] == 34


@pytest.mark.parametrize(("absent", "number"), [("ref", 8), ("nocall", 4)])
def test_single_sample_files_count_at_the_site_as_their_statement_says(
    node: Settings, tmp_path: Path, absent: str, number: int
) -> None:
    """Four genomes: A and B have a record at the site (of another allele), C and D none. With
    absent sites reference all four are called; with absent sites not called only A and B."""
    lines = {"A": "0/1", "B": "1/1", "C": None, "D": None}
    with migrated_sessions(node) as sessions:
        for name, genotype in lines.items():
            record = (
                f"chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t{genotype}"
                if genotype
                else "chr22\t500\t.\tC\tT\t.\tPASS\t.\tGT\t0/1"
            )
            path = write_vcf(tmp_path / f"{name}.vcf.gz", [name], [record])
            VcfIngestor(sessions).ingest(path, "OPEN", callability=Callability(absent=absent))
    assert result_set(node, ABSENT, "count")["info"]["alleleNumberAtSite"] == number
