"""The FAIR Data Point over HTTP (in-process): content negotiation, conditional requests, 404s
without redirects, the Service Registry entry, and the dataset identifier the catalogue and
the Beacon share (decision record 0026), with counts that follow loads and opt-outs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from gdi_node.app import create_app
from gdi_node.catalogue.model import DCAT, HEALTHDCATAP
from gdi_node.config.settings import Settings
from gdi_node.passport.local_issuer import LocalIssuer
from tests.support.catalogue import (
    catalogued_datasets,
    catalogued_settings,
    load_controlled,
    load_open,
    migrate,
    opt_out,
)

OPEN_ID, CTRL_ID = "GDI-XX-OPEN-1", "GDI-XX-CTRL-2"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FORMS = {
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("fdp")
    settings = catalogued_settings(tmp, "http://testserver")
    load_open(settings, tmp)
    load_controlled(settings, tmp)
    return settings


@pytest.fixture(scope="module")
def client(node: Settings) -> Iterator[Any]:
    with create_app(node, validate_responses=True).test_client(
        client=("127.0.0.1", 40000)
    ) as test_client:
        yield test_client


def graph_of(response: Any, form: str = "turtle") -> Graph:
    assert response.status_code == 200, response.text
    return Graph().parse(data=response.text, format=form)


def passport(node: Settings, datasets: list[str]) -> dict[str, str]:
    token = LocalIssuer.for_settings(node).passport(node, "fdp-user", datasets)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "text/*", "text/turtle;q=0.5, application/json;q=0.1", "application/x-turtle"],
)
def test_turtle_is_served_when_the_client_states_no_other_preference(
    client: Any, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get("/fdp/", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    assert response.headers["vary"] == "Accept"
    assert (URIRef("http://testserver/fdp/"), None, None) in graph_of(response)


@pytest.mark.parametrize(("media_type", "form"), FORMS.items())
def test_every_rdf_form_states_the_same_graph_as_turtle(
    client: Any, media_type: str, form: str
) -> None:
    path = f"/fdp/dataset/{OPEN_ID}"
    turtle = graph_of(client.get(path))
    response = client.get(path, headers={"Accept": media_type})
    assert response.headers["content-type"].startswith(media_type)
    assert isomorphic(graph_of(response, form), turtle)


def test_a_browser_gets_html_linking_to_the_rdf_forms(client: Any) -> None:
    response = client.get(f"/fdp/dataset/{OPEN_ID}", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'href="http://testserver/fdp/dataset/{OPEN_ID}?format=ttl"' in response.text
    assert "<script" not in response.text


def test_the_format_parameter_overrides_accept(client: Any) -> None:
    response = client.get("/fdp/?format=nt", headers={"Accept": BROWSER})
    assert response.headers["content-type"].startswith("application/n-triples")


@pytest.mark.parametrize("path", ["/fdp/", "/fdp/?format=pdf"])
def test_nothing_acceptable_is_a_406_problem_in_one_line(client: Any, path: str) -> None:
    response = client.get(path, headers={"Accept": "application/pdf"})
    assert response.status_code == 406
    problem = response.json()
    assert problem["status"] == 406
    assert problem["title"] == "NotAcceptable"
    assert "\n" not in problem["detail"]


def test_a_conditional_get_of_an_unchanged_record_is_a_304(client: Any) -> None:
    path = f"/fdp/dataset/{OPEN_ID}"
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    other_form = client.get(path, headers={"Accept": "application/n-triples"})
    assert other_form.headers["etag"] != etag  # a validator per representation


@pytest.mark.parametrize(
    "path",
    [
        "/fdp/catalog/other",
        "/fdp/dataset/GDI-XX-NONE-9",
        "/fdp/dataset/OPEN",  # the internal id is not the record's IRI
        f"/fdp/distribution/{CTRL_ID}/drs",  # CTRL has no files
    ],
)
def test_unknown_records_are_404_without_redirects(client: Any, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers


def test_the_root_is_served_at_its_iri_and_the_base_path_redirects_there(client: Any) -> None:
    root = graph_of(client.get("/fdp/", follow_redirects=False))
    assert (
        URIRef("http://testserver/fdp/"),
        DCAT.endpointURL,
        URIRef("http://testserver/fdp/"),
    ) in root
    plain = client.get("/fdp", follow_redirects=False)
    assert plain.status_code == 308
    assert plain.headers["location"] == "http://testserver/fdp/"


def test_distributions_follow_the_apis_that_serve_the_dataset(client: Any) -> None:
    graph = graph_of(client.get(f"/fdp/dataset/{CTRL_ID}"))
    served = sorted(str(o).rsplit("/", 1)[1] for o in graph.objects(None, DCAT.distribution))
    assert served == ["access-request", "beacon"]


def test_the_registry_lists_the_catalogue_when_it_is_configured(client: Any) -> None:
    listed = {s["type"]["artifact"]: s["url"] for s in client.get("/services").json()}
    assert listed["fair-data-point"] == "http://testserver/fdp"


def test_without_a_catalogue_section_every_record_is_404(tmp_path: Path) -> None:
    settings = catalogued_settings(tmp_path, "http://testserver").model_copy(
        update={"catalogue": None}
    )
    migrate(settings)
    with create_app(settings, validate_responses=True).test_client() as client:
        assert client.get("/fdp/").status_code == 404
        artifacts = [s["type"]["artifact"] for s in client.get("/services").json()]
        assert "fair-data-point" not in artifacts


def test_the_beacon_resolves_the_identifier_and_the_dataset_id(client: Any) -> None:
    for name in (OPEN_ID, "OPEN"):
        response = client.get(f"/ga4gh/beacon/v2/datasets/{name}")
        assert response.status_code == 200
        assert [c["id"] for c in response.json()["response"]["collections"]] == [OPEN_ID]


def test_result_sets_are_named_by_the_identifier_for_passports_granting_the_dataset_id(
    client: Any, node: Settings
) -> None:
    query = "/ga4gh/beacon/v2/g_variants?referenceName=22&start=99&alternateBases=G"
    response = client.get(f"{query}&requestedGranularity=record", headers=passport(node, ["CTRL"]))
    assert response.status_code == 200
    ids = sorted(s["id"] for s in response.json()["response"]["resultSets"])
    assert ids == [CTRL_ID, OPEN_ID]


def counts(client: Any, identifier: str) -> tuple[int | None, int | None]:
    graph = graph_of(client.get(f"/fdp/dataset/{identifier}"))
    node = URIRef(f"http://testserver/fdp/dataset/{identifier}")

    def value(predicate: URIRef) -> int | None:
        found = graph.value(node, predicate)
        assert found is None or isinstance(found, Literal)
        return None if found is None else int(found)

    return value(HEALTHDCATAP.numberOfRecords), value(HEALTHDCATAP.numberOfUniqueIndividuals)


def test_counts_follow_loads_and_opt_outs(tmp_path: Path) -> None:
    settings = catalogued_settings(tmp_path, "http://testserver")
    load_open(settings, tmp_path)
    load_controlled(settings, tmp_path)
    with create_app(settings, validate_responses=True).test_client() as client:
        # alleles with a carrier (not the one carried by nobody); eight people
        assert counts(client, OPEN_ID) == (2, 8)
        # three people are below the small-count threshold (5): not published (0027)
        assert counts(client, CTRL_ID) == (1, None)
        before = client.get(f"/fdp/dataset/{OPEN_ID}").headers["etag"]
        # another chromosome of the same people (one VCF per chromosome)
        chrx = ["chrX\t5000000\t.\tT\tC\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 8)]
        load_open(settings, tmp_path, "chrX.vcf.gz", chrx)
        assert counts(client, OPEN_ID) == (3, 8)
        opt_out(settings, "IND-1")
        assert counts(client, OPEN_ID) == (3, 7)
        response = client.get(f"/fdp/dataset/{OPEN_ID}", headers={"If-None-Match": before})
        assert response.status_code == 200


def test_a_dataset_hidden_from_anonymous_callers_is_not_catalogued(tmp_path: Path) -> None:
    datasets = catalogued_datasets()
    datasets[1]["disclosure"] = {"anonymous": "none", "registered": "count", "controlled": "file"}
    settings = catalogued_settings(tmp_path, "http://testserver").model_copy(
        update={"datasets": Settings.model_validate({"datasets": datasets}).datasets}
    )
    migrate(settings)
    with create_app(settings, validate_responses=True).test_client() as client:
        catalog = graph_of(client.get("/fdp/catalog/main"))
        listed = {str(o) for o in catalog.objects(None, DCAT.dataset)}
        assert listed == {f"http://testserver/fdp/dataset/{OPEN_ID}"}
        assert client.get(f"/fdp/dataset/{CTRL_ID}").status_code == 404
