"""The operating rules of the ELIXIR Beacon Network and the Beacon Verifier v2 (issue 19, design
note §4): one stable ``beaconId`` in every answer; ``/map`` and every URL in ``/info`` and
``/configuration`` absolute, the node's own under ``public_url``, each ``/map`` URL answering;
filtering terms whose ``scopes`` name the entry types they apply to (framework
``beaconFilteringTermsResponse``); and the verifier's sequence: ``/map``, ``/info``,
``/configuration``, then each entry URL of ``/map`` bare, reading ``response.resultSets[0].id``
where the answer is a result-sets response. Every document is validated against the Beacon
v2.1.1 schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from gdi_node.app import create_app
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import with_budget
from tests.api.test_beacon_privacy_gate import beacon_operations, load_data, needs_variant_query
from tests.support.beacon_spec import assert_valid_response, response_kind
from tests.support.htsget_setup import node_settings

PUBLIC_URL = "https://beacon.genome.example.org"
BEACON = "/ga4gh/beacon/v2"
BASE = PUBLIC_URL + BEACON
NODE_ID = "org.example.genome.gdi-node"
COLLECTIONS = ("dataset", "cohort")
# last segments of the GET paths that query no entry type: informational, terms, collections
NOT_ENTRY_QUERIES = (
    "",
    "info",
    "service-info",
    "configuration",
    "map",
    "entry_types",
    "filtering_terms",
    "datasets",
    "cohorts",
)  # entry types answered as collections, not result sets


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("network-rules")
    settings = with_budget(node_settings(tmp, PUBLIC_URL), units=10**6)
    node = settings.node.model_copy(update={"id": NODE_ID})
    settings = settings.model_copy(update={"node": node})
    load_data(settings, tmp)
    return settings


@pytest.fixture(scope="module")
def client(node: Settings) -> Iterator[Any]:
    with create_app(node, validate_responses=True).test_client() as test_client:
        yield test_client


def get(client: Any, url: str) -> dict[str, Any]:
    """GET an absolute URL of the node as the network does (the path under ``public_url``)."""
    assert url.startswith(PUBLIC_URL + "/"), url
    response = client.get(url.removeprefix(PUBLIC_URL))
    assert response.status_code == 200, (url, response.text)
    document: dict[str, Any] = response.json()
    return document


def urls_in(value: Any) -> Iterator[str]:
    """Every string of a document that names a URL (or a path)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from urls_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from urls_in(item)
    elif isinstance(value, str) and ("://" in value or value.startswith(("/", "mailto:"))):
        yield value


def test_every_answer_carries_the_one_beacon_id(client: Any) -> None:
    beacon_id = f"{NODE_ID}.beacon"
    info = get(client, BASE + "/info")
    assert info["response"]["id"] == beacon_id
    documents = [info] + [
        get(client, BASE + path)
        for path in ("", "/configuration", "/map", "/entry_types", "/filtering_terms")
    ]
    documents += [get(client, BASE + "/g_variants"), get(client, BASE + "/individuals")]
    assert {d["meta"]["beaconId"] for d in documents} == {beacon_id}
    error = client.get(BEACON + "/g_variants?referenceName=22").json()
    assert error["meta"]["beaconId"] == beacon_id


def test_map_urls_are_absolute_under_the_public_url_and_each_answers(client: Any) -> None:
    sets = get(client, BASE + "/map")["response"]["endpointSets"]
    for entry_type, endpoint_set in sets.items():
        urls = list(urls_in(endpoint_set))
        assert urls, entry_type
        assert all(url.startswith(BASE + "/") for url in urls), urls
        get(client, endpoint_set["rootUrl"])
        get(client, endpoint_set["openAPIEndpointsDefinition"])


def test_info_and_configuration_hold_absolute_urls_only(client: Any) -> None:
    for path in ("/info", "/configuration", "/entry_types"):
        for url in urls_in(get(client, BASE + path)["response"]):
            parts = urlsplit(url)
            absolute = parts.scheme in ("http", "https") and bool(parts.netloc)
            assert absolute or parts.scheme == "mailto", (path, url)
            if parts.netloc == urlsplit(PUBLIC_URL).netloc:
                assert url.startswith(BASE), (path, url)
    assert get(client, BASE + "/info")["response"]["info"]["beaconUrl"] == BASE


def test_filtering_terms_scopes_name_entry_types_the_terms_apply_to(client: Any) -> None:
    entry_types = set(get(client, BASE + "/entry_types")["response"]["entryTypes"])
    document = get(client, BASE + "/filtering_terms?limit=1000")
    assert_valid_response(document, "filtering_terms")
    terms = {t["id"]: t for t in document["response"]["filteringTerms"]}
    assert terms
    for term in terms.values():
        assert term["scopes"], term
        assert set(term["scopes"]) <= entry_types, term
    assert terms["sexFilter"]["scopes"] == ["genomicVariant"]
    assert terms["countryFilter"]["scopes"] == ["genomicVariant"]
    assert all(
        "genomicVariant" in t["scopes"] for t in terms.values() if "individual" in t["scopes"]
    )


def test_a_filter_scoped_as_listed_is_accepted_where_it_applies(client: Any) -> None:
    terms = get(client, BASE + "/filtering_terms?limit=1000")["response"]["filteringTerms"]
    term = next(t for t in terms if t["scopes"] == ["genomicVariant", "individual"])
    variant = {"referenceName": "22", "start": [99], "alternateBases": "G"}
    for scope in term["scopes"]:
        body = {"query": {"requestParameters": variant, "filters": [{**term, "scope": scope}]}}
        for path in ("/g_variants", "/individuals"):
            response = client.post(BEACON + path, json=body)
            applies = scope == "individual" or path == "/g_variants"
            assert response.status_code == (200 if applies else 400), (scope, path, response.text)
    sex = {"id": "sexFilter", "operator": "=", "value": "F", "scope": "genomicVariant"}
    body = {"query": {"requestParameters": variant, "filters": [sex]}}
    assert client.post(BEACON + "/g_variants", json=body).status_code == 200


def test_the_verifier_sequence_passes(client: Any) -> None:
    """As EGA-archive/beacon-verifier-v2 runs it against ``{base}``: every entry type's bare
    URL answers a result-sets response it can read ``resultSets[0].id`` from, at the boolean
    granularity a bare request gets (decision record 0030); collections answer collections."""
    found: dict[str, Any] = {}
    for path, kind in (("/map", "map"), ("/info", "info"), ("/configuration", "configuration")):
        document = get(client, BASE + path)
        assert_valid_response(document, kind)
        found[path] = document
    read = {}
    for entry_type, endpoint_set in found["/map"]["response"]["endpointSets"].items():
        document = get(client, endpoint_set["rootUrl"])
        kind = response_kind(document)
        assert_valid_response(document, kind)
        if entry_type in COLLECTIONS:
            assert kind == "collections", (entry_type, document)
            continue
        assert kind == "resultsets", (entry_type, document)
        assert document["meta"]["returnedGranularity"] == "boolean"
        read[entry_type] = document["response"]["resultSets"][0]["id"]
    assert set(read) == {"genomicVariant", "individual", "biosample", "run", "analysis"}
    assert set(read.values()) <= {"OPEN", "CTRL"}, read
    bare = get(client, BASE + "/g_variants")
    assert response_kind(bare) == "resultsets"
    assert bare["response"]["resultSets"][0]["id"] == "OPEN"


def test_a_count_at_any_entry_url_carries_one_result_set_per_dataset(client: Any) -> None:
    """What the GDI portal reads at count granularity: result sets named by dataset, each with
    the count the summary adds up, and no records."""
    for endpoint_set in get(client, BASE + "/map")["response"]["endpointSets"].values():
        url = endpoint_set["rootUrl"]
        if url.removeprefix(BASE + "/") in ("datasets", "cohorts"):
            continue
        document = get(client, url + "?requestedGranularity=count&includeResultsetResponses=ALL")
        assert_valid_response(document)
        sets = document["response"]["resultSets"]
        assert sets, url
        assert all(s["setType"] == "dataset" and s["results"] == [] for s in sets), url
        if url.endswith("/g_variants"):  # without variant parameters: boolean at most
            assert document["meta"]["returnedGranularity"] == "boolean"
            continue
        total = document["responseSummary"]["numTotalResults"]
        assert sum(s["resultsCount"] for s in sets) == total, url


def test_every_entry_query_path_answers_result_sets_at_count_granularity(client: Any) -> None:
    """Every GET of ``openapi/beacon.yaml`` that queries entries (not collections, filtering
    terms or the informational documents), asked anonymously at count granularity: result sets
    named by dataset whose counts add up to the summary's (decision record 0030). A path naming
    one entry may answer 404: one person is too small a scope to answer anonymously (0013)."""
    answered = []
    for _, method, path in beacon_operations():
        last = path.rstrip("/").split("/")[-1]
        if method != "get" or last in NOT_ENTRY_QUERIES:
            continue
        query = "requestedGranularity=count&includeResultsetResponses=ALL"
        if needs_variant_query(path):
            query += "&referenceName=22&start=99&alternateBases=G"
        response = client.get(f"{BEACON}{path}?{query}")
        if response.status_code == 404 and len(path.strip("/").split("/")) == 2:
            continue
        assert response.status_code == 200, (path, response.text)
        document = response.json()
        kind = response_kind(document)
        if kind == "collections":  # /datasets/{id}, /cohorts/{id}
            continue
        assert kind == "resultsets", (path, document)
        assert_valid_response(document)
        sets = document["response"]["resultSets"]
        assert {s["id"] for s in sets} <= {"OPEN", "CTRL"}, path
        assert sets, path
        if document["meta"]["returnedGranularity"] == "count":
            total = document["responseSummary"]["numTotalResults"]
            assert sum(s["resultsCount"] for s in sets) == total, path
        answered.append(path)
    assert len(answered) >= 20, answered
