"""Beacon v2 cross-entry answers that depend on who holds what: the biosamples that carry an
allele (``/g_variants/{id}/biosamples``), the filtering terms of one cohort's members
(``/cohorts/{id}/filtering_terms``), filtering terms without the people who opted out, and
``requestedSchemas`` (framework ``beaconRequestMeta``). On the metadata set of
tests/beacon_metadata.py, responses validated as in test_beacon_metadata_api.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import beacon, passport
from tests.api.test_beacon_metadata_api import (
    VARIANT,
    build_node,
    filtering_terms,
    ids,
    people,
)
from tests.support.beacon_metadata import BLOOD, SEIZURE, TONIC_CLONIC

# IND-1 also gave a second sample, never sequenced: it carries nothing the node knows of
UNSEQUENCED = {
    "id": "BS-1T",
    "individualId": "IND-1",
    "biosampleStatus": {"id": "EFO:0009655", "label": "abnormal sample"},
    "sampleOriginType": BLOOD,
}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("beacon-links")
    settings = build_node(tmp)
    extra = tmp / "extra" / "biosamples.json"
    extra.parent.mkdir()
    extra.write_text(json.dumps([UNSEQUENCED]), encoding="utf-8")
    with migrated_sessions(settings) as sessions:
        MetadataIngestor(sessions).ingest([extra], "OPEN")
    return settings


@pytest.fixture(scope="module")
def client(node: Settings) -> Iterator[Any]:
    app = create_app(node, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40011)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def grant(node: Settings) -> dict[str, str]:
    return passport(node, ["OPEN"])


def test_a_variant_lists_the_biosamples_that_carry_it_not_every_sample_of_a_carrier(
    client: Any, grant: dict[str, str]
) -> None:
    assert ids(client, "/individuals/IND-1/biosamples", headers=grant) == ["BS-1", "BS-1T"]
    # S1..S6 (biosamples BS-1..BS-6) carry it; BS-1T belongs to a carrier but was never read
    carriers = ids(client, f"/g_variants/{VARIANT}/biosamples", headers=grant)
    assert carriers == sorted(f"BS-{n}" for n in range(1, 7))
    assert ids(client, f"/g_variants/{VARIANT}/individuals", headers=grant) == people(*range(1, 7))
    # S7 alone carries the other allele
    other = "GRCh38:22:200:A:T"
    assert ids(client, f"/g_variants/{other}/biosamples", headers=grant) == ["BS-7"]


def _term_ids(client: Any, path: str) -> set[str]:
    document = filtering_terms(client, f"{path}?limit=1000")
    return {t["id"] for t in document["response"]["filteringTerms"]}


def test_a_cohorts_filtering_terms_are_those_in_its_members_records(client: Any) -> None:
    everyone = _term_ids(client, "/individuals/filtering_terms")
    trio = _term_ids(client, "/cohorts/trio/filtering_terms")  # IND-1..IND-3
    assert TONIC_CLONIC in trio
    assert SEIZURE in everyone  # recorded for IND-4 and IND-11, who are not in the trio
    assert SEIZURE not in trio
    assert trio < everyone
    response = client.get("/ga4gh/beacon/v2/cohorts/no-such-cohort/filtering_terms")
    assert response.status_code == 404
    assert "no-such-cohort" in response.json()["error"]["errorMessage"]


def test_filtering_terms_leave_out_the_records_of_people_who_opted_out(
    client: Any, node: Settings
) -> None:
    assert SEIZURE in _term_ids(client, "/filtering_terms")
    with migrated_sessions(node) as sessions:
        ConsentRegistry(sessions).opt_out(["IND-4", "IND-11"])  # all who record a seizure
    try:
        assert SEIZURE not in _term_ids(client, "/filtering_terms")
        assert TONIC_CLONIC in _term_ids(client, "/filtering_terms")
    finally:
        with migrated_sessions(node) as sessions:
            ConsentRegistry(sessions).opt_in(["IND-4", "IND-11"])
    assert SEIZURE in _term_ids(client, "/filtering_terms")


def _asking(schemas: list[dict[str, Any]], query: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "meta": {"apiVersion": "v2.1.1", "requestedSchemas": schemas},
        "query": {"requestedGranularity": "count", **(query or {})},
    }


def test_requested_schemas_other_than_the_default_model_are_refused_per_entity(
    client: Any, grant: dict[str, str]
) -> None:
    variant = {"requestParameters": {"referenceName": "22", "start": [99], "alternateBases": "G"}}
    for default in (
        {"entityType": "genomicVariation", "schema": "ga4gh-beacon-variant-v2.0.0"},
        {"entityType": "genomicVariant", "schema": "beacon-genomicVariations-v2.1.1"},
        {"schema": "beacon-genomicVariations-v2.1.1"},
        # a schema for another entity type does not concern a variant answer
        {"entityType": "individual", "schema": "phenopacket-v2"},
    ):
        status, document = beacon(client, "/g_variants", _asking([default], variant))
        assert status == 200, (default, document)
        received = document["meta"]["receivedRequestSummary"]["requestedSchemas"]
        assert received == [default]
        assert document["meta"]["returnedSchemas"][0]["schema"] == "beacon-genomicVariations-v2.1.1"
    foreign = {"entityType": "individual", "schema": "phenopacket-v2"}
    for path in ("/individuals", "/g_variants/" + VARIANT + "/individuals"):
        status, document = beacon(client, path, _asking([foreign]), headers=grant)
        assert status == 400, document
        message = document["error"]["errorMessage"]
        assert "phenopacket-v2" in message
        assert "beacon-individuals-v2.1.1" in message
    status, document = beacon(
        client, "/g_variants", _asking([foreign | {"entityType": "genomicVariant"}], variant)
    )
    assert status == 400
    status, document = beacon(
        client,
        "/individuals",
        _asking([{"entityType": "Individual", "schema": "ga4gh-beacon-individual-v2.0.0"}]),
        headers=grant,
    )
    assert status == 200, document
    assert document["responseSummary"]["numTotalResults"] == 11


@pytest.mark.postgres
def test_carrier_biosamples_and_cohort_terms_answer_the_same_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = build_node(tmp_path, postgres_url)
    grant = passport(settings, ["OPEN"])
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40012)) as pg:
        carriers = ids(pg, f"/g_variants/{VARIANT}/biosamples", headers=grant)
        assert carriers == sorted(f"BS-{n}" for n in range(1, 7))
        trio = _term_ids(pg, "/cohorts/trio/filtering_terms")
        assert TONIC_CLONIC in trio
        assert SEIZURE not in trio
        assert SEIZURE in _term_ids(pg, "/individuals/filtering_terms")
