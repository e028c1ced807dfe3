"""Every record the FAIR Data Point serves conforms to the GDI metadata shapes (HealthDCAT-AP
release 5 profile, gdi-metadata 3f1085d, vendored): in every RDF form, with the focus nodes
present (a graph without them would "conform" vacuously: design note §2.5, pitfall 2). Each
mandatory field, removed or corrupted, is reported on its own path; the two identifier
conventions the shape's pattern rejects fail that pattern only (decision record 0026)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyshacl import validate
from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, SH

from gdi_node.app import create_app
from gdi_node.catalogue.model import ACCESS_RIGHT, DCAT, DCATAP, HEALTHDCATAP, VCARD
from gdi_node.catalogue.shapes import ShapesIntegrityError, gdi_shapes, shapes_dir
from gdi_node.config.settings import Settings
from tests.support.catalogue import (
    catalogued_datasets,
    catalogued_settings,
    load_controlled,
    load_open,
    migrate,
    shape_violations,
)

BASE = "http://testserver"
FORMS = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("shapes")
    settings = catalogued_settings(tmp, BASE)
    load_open(settings, tmp)
    load_controlled(settings, tmp)
    with create_app(settings, validate_responses=True).test_client() as test_client:
        yield test_client


def fetch(client: Any, url: str, media_type: str = "text/turtle") -> Graph:
    response = client.get(url.removeprefix(BASE), headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    return Graph().parse(data=response.text, format=FORMS[media_type])


def served_records(client: Any) -> list[tuple[str, URIRef]]:
    """(url, class) of every record reachable from the root, following ldp:contains."""
    root = fetch(client, f"{BASE}/fdp/")
    records = [(f"{BASE}/fdp/", DCAT.DataService)]
    for catalog in root.objects(None, URIRef("http://www.w3.org/ns/ldp#contains")):
        records.append((str(catalog), DCAT.Catalog))
        for dataset in fetch(client, str(catalog)).objects(URIRef(str(catalog)), DCAT.dataset):
            records.append((str(dataset), DCAT.Dataset))
            graph = fetch(client, str(dataset))
            records += [
                (str(d), DCAT.Distribution) for d in graph.objects(dataset, DCAT.distribution)
            ]
    return records


@pytest.mark.parametrize("media_type", FORMS)
def test_every_served_record_conforms_to_the_gdi_shapes(client: Any, media_type: str) -> None:
    records = served_records(client)
    assert [c for _, c in records].count(DCAT.Dataset) == 2
    assert [c for _, c in records].count(DCAT.Distribution) == 4  # beacon, access request each
    merged = Graph()
    for url, cls in records:
        graph = fetch(client, url, media_type)
        assert (URIRef(url), RDF.type, cls) in graph  # the focus node is the fetched URL
        if cls == DCAT.Distribution:  # the inline service is a focus node too
            service = graph.value(URIRef(url), DCAT.accessService)
            assert service is None or (service, RDF.type, DCAT.DataService) in graph
        assert shape_violations(graph) == [], url
        merged += graph
    assert shape_violations(merged) == []


def test_the_vendored_shapes_match_their_checksums() -> None:
    assert len(gdi_shapes()) > 100
    sums = (shapes_dir() / "SHA256SUMS").read_text(encoding="utf-8").split()
    assert len(sums) == 18  # nine files
    assert issubclass(ShapesIntegrityError, RuntimeError)


# -- one negative per mandatory field -------------------------------------------------------

Mutation = Callable[[Graph, URIRef], None]


def drop(predicate: URIRef) -> Mutation:
    def mutate(graph: Graph, node: URIRef) -> None:
        graph.remove((node, predicate, None))

    return mutate


def drop_on(kind: URIRef, predicate: URIRef) -> Mutation:
    """Remove ``predicate`` from every node of class ``kind`` in the document."""

    def mutate(graph: Graph, node: URIRef) -> None:
        for subject in list(graph.subjects(RDF.type, kind)):
            graph.remove((subject, predicate, None))

    return mutate


def replace(predicate: URIRef, value: Any) -> Mutation:
    def mutate(graph: Graph, node: URIRef) -> None:
        graph.remove((node, predicate, None))
        graph.add((node, predicate, value))

    return mutate


def untype_service(graph: Graph, node: URIRef) -> None:
    graph.remove((graph.value(node, DCAT.accessService), RDF.type, DCAT.DataService))


def email_without_mailto(graph: Graph, node: URIRef) -> None:
    for kind in list(graph.subjects(RDF.type, VCARD.Kind)):
        graph.remove((kind, VCARD.hasEmail, None))
        graph.add((kind, VCARD.hasEmail, URIRef("https://genome.test/contact")))


DATASET = f"{BASE}/fdp/dataset/GDI-XX-OPEN-1"
DISTRIBUTION = f"{BASE}/fdp/distribution/GDI-XX-OPEN-1/beacon"
CATALOG = f"{BASE}/fdp/catalog/main"
NEGATIVES: list[tuple[str, str, Mutation, set[URIRef]]] = [
    ("dataset identifier", DATASET, drop(DCTERMS.identifier), {DCTERMS.identifier}),
    ("dataset title", DATASET, drop(DCTERMS.title), {DCTERMS.title}),
    ("dataset description", DATASET, drop(DCTERMS.description), {DCTERMS.description}),
    ("access rights missing", DATASET, drop(DCTERMS.accessRights), {DCTERMS.accessRights}),
    (
        "access rights off the EU list",
        DATASET,
        replace(DCTERMS.accessRights, ACCESS_RIGHT.CONFIDENTIAL),
        {DCTERMS.accessRights},
    ),
    (
        "dataset legislation",
        DATASET,
        drop(DCATAP.applicableLegislation),
        {DCATAP.applicableLegislation},
    ),
    ("creator", DATASET, drop(DCTERMS.creator), {DCTERMS.creator}),
    ("publisher", DATASET, drop(DCTERMS.publisher), {DCTERMS.publisher}),
    ("theme", DATASET, drop(DCAT.theme), {DCAT.theme}),
    (
        "health category",
        DATASET,
        drop(HEALTHDCATAP.healthCategory),
        {HEALTHDCATAP.healthCategory},
    ),
    (
        "a count typed xsd:integer",
        DATASET,
        replace(HEALTHDCATAP.numberOfRecords, Literal(2, datatype=XSD.integer)),
        {HEALTHDCATAP.numberOfRecords},
    ),
    (
        "agent name",
        DATASET,
        drop_on(FOAF.Agent, FOAF.name),
        {FOAF.name, DCTERMS.creator, DCTERMS.publisher, HEALTHDCATAP.hdab},
    ),
    (
        "contact e-mail not a mailto IRI",
        DATASET,
        email_without_mailto,
        {VCARD.hasEmail, DCAT.contactPoint, DCTERMS.publisher, HEALTHDCATAP.hdab},
    ),
    (
        "contact name",
        DATASET,
        drop_on(VCARD.Kind, VCARD.fn),
        {VCARD.fn, DCAT.contactPoint, DCTERMS.publisher, HEALTHDCATAP.hdab},
    ),
    ("distribution access URL", DISTRIBUTION, drop(DCAT.accessURL), {DCAT.accessURL}),
    ("distribution title", DISTRIBUTION, drop(DCTERMS.title), {DCTERMS.title}),
    (
        "distribution legislation",
        DISTRIBUTION,
        drop(DCATAP.applicableLegislation),
        {DCATAP.applicableLegislation},
    ),
    ("service untyped", DISTRIBUTION, untype_service, {DCAT.accessService}),
    (
        "service endpoint",
        DISTRIBUTION,
        drop_on(DCAT.DataService, DCAT.endpointURL),
        {DCAT.endpointURL},
    ),
    ("service title", DISTRIBUTION, drop_on(DCAT.DataService, DCTERMS.title), {DCTERMS.title}),
    ("catalogue title", CATALOG, drop(DCTERMS.title), {DCTERMS.title}),
    ("catalogue description", CATALOG, drop(DCTERMS.description), {DCTERMS.description}),
    (
        "catalogue legislation",
        CATALOG,
        drop(DCATAP.applicableLegislation),
        {DCATAP.applicableLegislation},
    ),
]


def result_paths(graph: Graph) -> set[URIRef]:
    conforms, report, _ = validate(graph, shacl_graph=gdi_shapes(), inference="none")
    assert not conforms
    return {
        path
        for result in report.subjects(RDF.type, SH.ValidationResult)
        if isinstance(path := report.value(result, SH.resultPath), URIRef)
    }


@pytest.mark.parametrize(
    ("url", "mutate", "paths"), [n[1:] for n in NEGATIVES], ids=[n[0] for n in NEGATIVES]
)
def test_each_mandatory_field_missing_or_wrong_is_reported_on_its_path(
    client: Any, url: str, mutate: Mutation, paths: set[URIRef]
) -> None:
    graph = fetch(client, url)
    assert shape_violations(graph) == []
    mutate(graph, URIRef(url))
    assert result_paths(graph) == paths


@pytest.mark.parametrize("identifier", ["GoE_NL_HRI_1", "GDID-1a2b3c4d-9f8e"])
def test_the_two_conventions_the_shape_rejects_fail_its_identifier_pattern_only(
    tmp_path: Any, identifier: str
) -> None:
    datasets = catalogued_datasets()
    datasets[0]["identifier"] = identifier
    settings = catalogued_settings(tmp_path, BASE).model_copy(
        update={"datasets": Settings.model_validate({"datasets": datasets}).datasets}
    )
    migrate(settings)
    with create_app(settings, validate_responses=True).test_client() as client:
        graph = fetch(client, f"{BASE}/fdp/dataset/{identifier}")
    _, report, _ = validate(graph, shacl_graph=gdi_shapes(), inference="none")
    results = list(report.subjects(RDF.type, SH.ValidationResult))
    assert len(results) == 1
    assert report.value(results[0], SH.resultPath) == DCTERMS.identifier
    assert report.value(results[0], SH.sourceConstraintComponent) == SH.PatternConstraintComponent
