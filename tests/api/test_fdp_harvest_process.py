"""A harvest of the FAIR Data Point from its root, against the real ``gdi-node serve`` on
loopback, the way the GDI User Portal's CKAN harvester (ckanext-fairdatapoint) crawls it:
``Accept: text/turtle`` only, each body parsed as rdflib guesses it, breadth-first over every
``ldp:contains`` object with a visited set, a document is a dataset only when it states
``<the fetched URL> a dcat:Dataset``, and each distribution's own triples are merged with the
blank nodes reached through ``dcat:accessService`` (design note §1.5).

Every dataset is found, its ``dct:identifier`` is the ``id`` of its Beacon result sets, its
counts are the data's and follow an opt-out, and each inline service's endpoint answers."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from rdflib import RDF, BNode, Graph, URIRef
from rdflib.namespace import DCTERMS

from gdi_node.bootstrap import open_ingestor
from gdi_node.catalogue.model import DCAT, HEALTHDCATAP, LDP
from gdi_node.config.settings import Settings
from gdi_node.passport.local_issuer import LocalIssuer
from tests.support.catalogue import (
    catalogued_settings,
    load_controlled,
    load_open,
    opt_out,
)
from tests.support.processes import free_port, running_node, write_config

pytestmark = pytest.mark.slow
SERVICE_INFO = {"/ga4gh/beacon/v2": "/service-info", "/ga4gh/drs/v1": "/service-info"}


@dataclass
class Harvested:
    """A dataset as the harvester keeps it: its document and its distributions' triples."""

    url: str
    graph: Graph
    distributions: dict[str, Graph] = field(default_factory=dict)

    def value(self, predicate: URIRef) -> Any:
        return self.graph.value(URIRef(self.url), predicate)


def fetch(url: str) -> Graph:
    # the harvester's requests.get follows redirects (the root: /fdp -> /fdp/)
    response = httpx.get(url, headers={"Accept": "text/turtle"}, timeout=30, follow_redirects=True)
    assert response.status_code == 200, (url, response.text)
    return Graph().parse(data=response.content.decode("utf-8"))  # no format: as the harvester


def with_services(document: Graph, subject: URIRef) -> Graph:
    """``subject``'s triples plus the blank nodes reached through dcat:accessService."""
    kept = Graph()
    pending: list[Any] = [subject]
    while pending:
        node = pending.pop()
        for predicate, value in document.predicate_objects(node):
            kept.add((node, predicate, value))
            # from the distribution only through its access service; below that, every blank node
            inside = node != subject or predicate == DCAT.accessService
            if isinstance(value, BNode) and inside:
                pending.append(value)
    return kept


def harvest(root: str) -> list[Harvested]:
    queue, visited, datasets = deque([root]), {root}, []
    while queue:
        url = queue.popleft()
        document = fetch(url)
        if (URIRef(url), RDF.type, DCAT.Dataset) in document:
            datasets.append(Harvested(url, document))
        for child in document.objects(None, LDP.contains):
            if str(child) not in visited:
                visited.add(str(child))
                queue.append(str(child))
    for dataset in datasets:
        graph = fetch(dataset.url)
        for distribution in graph.objects(URIRef(dataset.url), DCAT.distribution):
            dataset.distributions[str(distribution)] = with_services(
                fetch(str(distribution)), URIRef(str(distribution))
            )
    return datasets


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    tmp = tmp_path_factory.mktemp("harvest")
    port = free_port()
    settings = catalogued_settings(tmp, f"http://127.0.0.1:{port}")
    load_open(settings, tmp)
    load_controlled(settings, tmp)
    with open_ingestor(settings) as ingestor:  # OPEN has a file: DRS and htsget serve it
        ingestor.ingest([tmp / "open.vcf.gz"], "OPEN")
    config = write_config(tmp / "gdi-node.yaml", settings, port)
    with running_node(["--config", str(config), "serve"], port, tmp) as running:
        yield settings, running.base_url


def beacon_result_set_ids(settings: Settings, base_url: str) -> set[str]:
    """Result-set ids of a record-level query by a holder of passports granting the dataset
    ids (as passports were issued before identifiers existed)."""
    token = LocalIssuer.for_settings(settings).passport(settings, "harvester", ["CTRL"])
    response = httpx.get(
        f"{base_url}/ga4gh/beacon/v2/g_variants",
        params={"referenceName": "22", "start": 99, "alternateBases": "G",
                "requestedGranularity": "record"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return {s["id"] for s in response.json()["response"]["resultSets"]}


def test_a_harvest_from_the_root_finds_every_dataset_by_its_beacon_identifier(
    node: tuple[Settings, str],
) -> None:
    settings, base_url = node
    harvested = {str(d.value(DCTERMS.identifier)): d for d in harvest(f"{base_url}/fdp")}
    assert set(harvested) == {d.public_id for d in settings.datasets}
    assert set(harvested) == beacon_result_set_ids(settings, base_url)
    for identifier, dataset in harvested.items():
        assert dataset.url == f"{base_url}/fdp/dataset/{identifier}"
        collection = httpx.get(f"{base_url}/ga4gh/beacon/v2/datasets/{identifier}", timeout=30)
        assert [c["id"] for c in collection.json()["response"]["collections"]] == [identifier]


def test_harvested_distributions_carry_their_services_and_each_endpoint_answers(
    node: tuple[Settings, str],
) -> None:
    _, base_url = node
    harvested = {str(d.value(DCTERMS.identifier)): d for d in harvest(f"{base_url}/fdp")}
    kinds = {i: sorted(u.rsplit("/", 1)[1] for u in d.distributions) for i, d in harvested.items()}
    assert kinds == {
        "GDI-XX-OPEN-1": ["access-request", "beacon", "drs", "htsget"],
        "GDI-XX-CTRL-2": ["access-request", "beacon"],
    }
    endpoints = set()
    for dataset in harvested.values():
        for graph in dataset.distributions.values():
            for service in graph.subjects(RDF.type, DCAT.DataService):
                assert (service, DCAT.servesDataset, URIRef(dataset.url)) in graph
                endpoints.add(str(graph.value(service, DCAT.endpointURL)))
    assert len(endpoints) == 3
    for endpoint in endpoints:
        path = endpoint.removeprefix(base_url)
        info = f"{endpoint}{SERVICE_INFO.get(path, '/reads/service-info')}"
        assert httpx.get(info, timeout=30).status_code == 200, info


def test_harvested_counts_are_the_data_and_follow_an_opt_out(node: tuple[Settings, str]) -> None:
    settings, base_url = node

    def counts() -> dict[str, tuple[Any, Any]]:
        return {
            str(d.value(DCTERMS.identifier)): (
                d.value(HEALTHDCATAP.numberOfRecords),
                d.value(HEALTHDCATAP.numberOfUniqueIndividuals),
            )
            for d in harvest(f"{base_url}/fdp")
        }

    before = counts()
    assert [int(v) for v in before["GDI-XX-OPEN-1"]] == [2, 8]
    assert before["GDI-XX-CTRL-2"][1] is None  # three people: below the small-count threshold
    opt_out(settings, "IND-2")
    assert int(counts()["GDI-XX-OPEN-1"][1]) == 7
