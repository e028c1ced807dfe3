"""A query scope that can single out fewer people than the small-count threshold is answered,
below record permission, as if nothing were known (decision record 0013,
gdi_node.beacon.queries.small_scopes), on every route that answers booleans or counts: a path to one
person, an id filter, a rare term, common filters whose intersection is one person, a cohort,
and a scope that leaves out fewer people than the threshold.

The metadata set of tests/beacon_metadata.py is loaded into the CONTROLLED dataset CTRL with
ten genotyped people (S1..S10 are IND-1..IND-10); IND-6 alone carries the allele at 200 and
alone has RARE. An anonymous caller sees CTRL as boolean, a registered one as count, a caller
with a controlled-access grant as records. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gdi_node.app import create_app
from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import normalise_url
from tests.api.test_beacon_api import beacon, passport, with_budget
from tests.api.test_beacon_generation_check import statements
from tests.conftest import POSTGRES_URL
from tests.support.beacon_data import write_vcf
from tests.support.beacon_metadata import TONIC_CLONIC, sample_sheet, write_metadata
from tests.support.htsget_setup import node_settings

RARE = "HP:0000729"  # autistic behavior: IND-6 only
SINGLETON = "referenceName=22&start=199&alternateBases=T"  # carried by IND-6 (S6) alone
SINGLETON_ID = "GRCh38:22:200:A:T"
# onset at 60 years or later: IND-6..IND-10; platelets at most 300: IND-1..IND-6
TWO_COMMON = "ageOfOnset:>=P60Y,LOINC:26515-7:<=300"
RECORDS = [
    # common: S1..S4 heterozygous, S5 and S6 homozygous
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 4 + ["1/1"] * 2 + ["0/0"] * 4),
    # a singleton: S6 alone
    "chr22\t200\t.\tA\tT\t.\tPASS\t.\tGT\t" + "\t".join(["0/0"] * 5 + ["0/1"] + ["0/0"] * 4),
]
# g_variants scopes of one person: IND-6, who carries the singleton
ONE_PERSON_VARIANT_SCOPES = [
    f"/individuals/IND-6/g_variants?{SINGLETON}",
    f"/biosamples/BS-6/g_variants?{SINGLETON}",
    f"/runs/RUN-6/g_variants?{SINGLETON}",
    f"/analyses/AN-6/g_variants?{SINGLETON}",
    f"/g_variants/{SINGLETON_ID}?filters=id:=IND-6",
    f"/g_variants?{SINGLETON}&filters=id:=IND-6",
    f"/g_variants?{SINGLETON}&filters={RARE}",
    f"/g_variants?{SINGLETON}&filters={TWO_COMMON}",
    f"/datasets/CTRL/g_variants?{SINGLETON}&filters={RARE}",
]
# entry scopes of one person (or of the three of the cohort ``trio``)
SMALL_ENTRY_SCOPES = [
    "/individuals/IND-6/biosamples",
    "/biosamples/BS-6/runs",
    "/runs/RUN-6/analyses",
    "/individuals?filters=id:=IND-6",
    f"/individuals?filters={RARE}",
    f"/biosamples?filters={TWO_COMMON}",
    f"/g_variants/{SINGLETON_ID}/individuals?filters=id:=IND-6",
    "/cohorts/trio/individuals",
]


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database on the test PostgreSQL server for this module, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("GDI_NODE_TEST_POSTGRES_URL not set")
    name = f"gdi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(POSTGRES_URL)).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_node(tmp: Path, database_url: str | None) -> Settings:
    settings = with_budget(node_settings(tmp, "http://testserver", database_url), units=10**6)
    files = write_metadata(tmp / "metadata")
    individuals = tmp / "metadata" / "individuals.json"
    records = json.loads(individuals.read_text(encoding="utf-8"))
    feature = {"featureType": {"id": RARE, "label": "Autistic behavior"}}
    next(r for r in records if r["id"] == "IND-6").setdefault("phenotypicFeatures", []).append(
        feature
    )
    individuals.write_text(json.dumps(records), encoding="utf-8")
    files = [f for f in files if f.name != "datasets.json"]  # OPEN's dataset record
    vcf = write_vcf(tmp / "ctrl.vcf.gz", [f"S{n}" for n in range(1, 11)], RECORDS)
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "CTRL", sample_sheet=sample_sheet(tmp / "s.tsv"))
        MetadataIngestor(sessions).ingest(files, "CTRL")
    return settings


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("small-scopes")
    if request.param == "sqlite":
        yield build_node(tmp, None)
        return
    with postgres_database() as url:
        yield build_node(tmp, url)


@pytest.fixture(scope="module")
def client(node: Settings) -> Iterator[Any]:
    """A caller inside the residency networks: a grant gives record access to CTRL."""
    with create_app(node, validate_responses=True).test_client(
        client=("127.0.0.1", 40021)
    ) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def callers(node: Settings) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "registered": passport(node, [], registered=True),
        "granted": passport(node, ["CTRL"]),
    }


def ask(client: Any, path: str, granularity: str, headers: dict[str, str]) -> dict[str, Any]:
    joiner = "&" if "?" in path else "?"
    status, document = beacon(
        client, f"{path}{joiner}requestedGranularity={granularity}", headers=headers
    )
    assert status == 200, (path, document)
    return dict(document)


def withheld(document: dict[str, Any]) -> list[str]:
    return [w["datasetId"] for w in document.get("info", {}).get("withheld", [])]


def assert_answered_as_if_nothing_were_known(document: dict[str, Any], path: str) -> None:
    summary = document["responseSummary"]
    assert summary["exists"] is False, (path, document)
    assert summary.get("numTotalResults", 0) == 0, (path, document)
    assert withheld(document) == ["CTRL"], (path, document)
    reason = document["info"]["withheld"][0]["reason"]
    assert "fewer than 5" in reason
    assert "record access" in reason


def test_a_scope_of_one_person_answers_variant_queries_as_if_nothing_were_known(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    for path in ONE_PERSON_VARIANT_SCOPES:
        anonymous = ask(client, path, "boolean", callers["anonymous"])
        assert_answered_as_if_nothing_were_known(anonymous, path)
        registered = ask(client, path, "count", callers["registered"])
        assert_answered_as_if_nothing_were_known(registered, path)


def test_a_scope_of_one_person_answers_normally_with_record_permission(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    for path in ONE_PERSON_VARIANT_SCOPES:
        granted = ask(client, path, "count", callers["granted"])
        assert granted["responseSummary"]["exists"] is True, (path, granted)
        assert granted["responseSummary"]["numTotalResults"] == 1, (path, granted)
        assert "info" not in granted
        boolean = ask(client, path, "boolean", callers["granted"])
        assert boolean["responseSummary"]["exists"] is True, (path, boolean)


def test_a_small_entry_scope_answers_as_if_nothing_were_known(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    for path in SMALL_ENTRY_SCOPES:
        assert_answered_as_if_nothing_were_known(
            ask(client, path, "boolean", callers["anonymous"]), path
        )
        assert_answered_as_if_nothing_were_known(
            ask(client, path, "count", callers["registered"]), path
        )
        granted = ask(client, path, "count", callers["granted"])
        assert granted["responseSummary"]["exists"] is True, (path, granted)
        assert "info" not in granted


def test_one_person_by_id_is_not_found_below_record_permission_whether_or_not_there(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    for headers in (callers["anonymous"], callers["registered"]):
        for path in ("/individuals/IND-6", "/individuals/IND-99", "/biosamples/BS-6"):
            status, document = beacon(client, f"{path}?requestedGranularity=count", headers=headers)
            assert status == 404, (path, document)
            assert "record access" in document["error"]["errorMessage"]
    status, document = beacon(client, "/individuals/IND-6", headers=callers["granted"])
    assert (status, document["responseSummary"]["exists"]) == (200, True)
    status, document = beacon(client, "/individuals/IND-99", headers=callers["granted"])
    assert status == 404


def test_a_small_cohort_lists_no_filtering_terms_below_record_permission(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    for name, headers in callers.items():
        response = client.get("/ga4gh/beacon/v2/cohorts/trio/filtering_terms", headers=headers)
        assert response.status_code == 200
        document = response.json()
        terms = {t["id"] for t in document["response"]["filteringTerms"]}
        if name == "granted":
            assert TONIC_CLONIC in terms  # IND-1..IND-3, the trio
            assert "info" not in document
        else:
            assert terms == set(), name
            assert withheld(document) == ["CTRL"]


def test_a_scope_leaving_out_fewer_people_than_the_threshold_answers_as_if_nothing_were_known(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    """Everyone but IND-6: the whole dataset's answer minus this one would be IND-6's (two
    variants in the range, one without IND-6: IND-6 carries the other)."""
    all_but_one = [{"id": "id", "operator": "!", "value": "IND-6", "scope": "individual"}]
    both = {"referenceName": "22", "start": [0], "end": [1000]}
    for path, parameters in (("/g_variants", both), ("/individuals", None)):
        whole: dict[str, Any] = {"requestedGranularity": "count"}
        if parameters is not None:
            whole["requestParameters"] = parameters
        narrowed = {**whole, "filters": all_but_one}
        status, granted = beacon(client, path, {"query": narrowed}, headers=callers["granted"])
        assert status == 200, granted
        expected = 1 if path == "/g_variants" else 10  # IND-6 is the one left out
        assert granted["responseSummary"]["numTotalResults"] == expected
        status, document = beacon(client, path, {"query": whole}, headers=callers["registered"])
        assert document["responseSummary"]["numTotalResults"] == expected + 1
        assert "info" not in document
        for caller, granularity in (("registered", "count"), ("anonymous", "boolean")):
            asked = {**narrowed, "requestedGranularity": granularity}
            status, document = beacon(client, path, {"query": asked}, headers=callers[caller])
            assert status == 200, document
            assert_answered_as_if_nothing_were_known(document, f"{path} {caller}")


def test_a_scope_at_the_threshold_answers_normally(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    """Onset at 60 or later: IND-6..IND-10, five of the ten genotyped people, five left out."""
    path = f"/g_variants?{SINGLETON}&filters=ageOfOnset:>=P60Y"
    anonymous = ask(client, path, "boolean", callers["anonymous"])
    assert anonymous["responseSummary"]["exists"] is True
    assert "info" not in anonymous
    registered = ask(client, path, "count", callers["registered"])
    assert registered["responseSummary"]["numTotalResults"] == 1
    assert "info" not in registered
    people = ask(client, "/individuals?filters=ageOfOnset:>=P60Y", "count", callers["registered"])
    summary = people["responseSummary"]
    assert (summary["numTotalResults"], summary["countPrecision"]) == (5, "exact")
    assert "info" not in people


def test_the_rule_adds_no_statement_to_a_query_nothing_narrows(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    """A plain range count stays one statement (decision record 0008): no scope to size."""
    plain = "/datasets/CTRL/g_variants?referenceName=22&start=0&end=1000"
    ask(client, plain, "count", callers["registered"])  # scopes built, budget row read
    with statements() as seen:
        document = ask(client, plain, "count", callers["registered"])
    assert document["responseSummary"]["numTotalResults"] == 2
    counted = [s for s in seen if "beacon_query_budget" not in s]
    assert len(counted) == 1, counted


def test_a_withheld_answer_costs_the_base_cost_and_reveals_no_rare_allele(node: Settings) -> None:
    """An allele-specific hit on a singleton costs base + rare (21); withheld, it costs 1.
    (Each test spending a budget has a client address of its own: usage is per address.)"""
    settings = with_budget(node, units=21, base_cost=1, rare_cost=20)
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.22", 40022)) as anonymous:
        for _ in range(3):
            status, document = beacon(anonymous, f"/g_variants?{SINGLETON}&filters={RARE}")
            assert status == 200, document
            assert withheld(document) == ["CTRL"]


def test_probing_a_scope_by_id_spends_the_budget_even_when_not_found(node: Settings) -> None:
    """A 404 for an id tells as much as a withheld answer: it is spent, and once the budget
    is spent the probe gets 429, not an answer."""
    settings = with_budget(node, units=2, base_cost=1)
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.23", 40023)) as anonymous:
        for path in ("/individuals/IND-99", "/individuals/IND-98"):
            status, document = beacon(anonymous, path)
            assert status == 404, document
        status, document = beacon(anonymous, "/individuals/IND-6")
        assert status == 429, document


def test_a_scope_counts_people_not_samples(tmp_path: Path, database_url: str) -> None:
    """IND-1..IND-3 (the tonic-clonic seizures) gave two samples each: six samples, three
    people, fewer than the threshold; twenty people in all, so fourteen others either way."""
    settings = with_budget(node_settings(tmp_path, "http://testserver", database_url), units=10**6)
    owners = {f"S{n}": f"IND-{n}" for n in range(1, 11)}
    owners |= {f"S{n}b": f"IND-{n}" for n in range(1, 4)}  # a second sample each
    owners |= {f"S{n}": f"IND-{n}" for n in range(12, 22)}  # people without metadata records
    common = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * len(owners))
    vcf = write_vcf(tmp_path / "twice.vcf.gz", list(owners), [common])
    sheet = tmp_path / "twice.tsv"
    sheet.write_text(
        "sample\tindividual_id\n" + "".join(f"{s}\t{i}\n" for s, i in owners.items()),
        encoding="utf-8",
    )
    files = [f for f in write_metadata(tmp_path / "metadata") if f.name != "datasets.json"]
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "CTRL", sample_sheet=sheet)
        MetadataIngestor(sessions).ingest(files, "CTRL")
    query = f"/g_variants?referenceName=22&start=99&alternateBases=G&filters={TONIC_CLONIC}"
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40024)) as client:  # in the residency networks
        anonymous = ask(client, query, "boolean", {})
        assert_answered_as_if_nothing_were_known(anonymous, query)
        granted = ask(client, query, "record", passport(settings, ["CTRL"]))
        sets = {s["id"]: s for s in granted["response"]["resultSets"]}
        record = sets["CTRL"]["results"][0]
        counts = record["frequencyInPopulations"][0]["frequencies"][-1]
        assert counts["alleleCount"] == 6  # six heterozygous samples of three people
