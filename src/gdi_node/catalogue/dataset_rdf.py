"""A dataset and its distributions as RDF, per the GDI metadata profile of HealthDCAT-AP
release 5 (shapes at commit 3f1085d: DatasetShape, DistributionShape, DataServiceShape;
design note §2.2 and §2.4).

Configured facts come from the dataset's settings and the catalogue section; the counts, the
distributions and ``dct:modified`` from :class:`~gdi_node.catalogue.model.DatasetFacts`. Each
distribution is a record of its own (``dcat:distribution`` must be an IRI) whose access service
is an inline ``dcat:DataService``: a harvester copies blank nodes reached through
``dcat:accessService`` and does not fetch service IRIs (design note §1.5, item 3).
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from gdi_node.catalogue.iris import Iris
from gdi_node.catalogue.model import (
    ACCESS_RIGHT,
    ADMS,
    API_TITLES,
    DATASET_TYPE,
    DCAT,
    DPV,
    GDI,
    HEALTH_THEME,
    HEALTHDCATAP,
    Api,
    DatasetFacts,
)
from gdi_node.catalogue.rdf import (
    add_agent,
    add_contact,
    add_container,
    add_iris,
    add_legislation,
    add_record,
    new_graph,
)
from gdi_node.config.catalogue import CatalogueSettings
from gdi_node.config.settings import DatasetSettings, SecurityLevel


@dataclass(frozen=True)
class DatasetView:
    """Everything one dataset's records are built from."""

    dataset: DatasetSettings
    facts: DatasetFacts
    catalogue: CatalogueSettings
    small_count_threshold: int

    @property
    def identifier(self) -> str:
        return self.dataset.public_id

    def apis(self) -> list[Api]:
        """Beacon always; DRS and htsget when the dataset has files; the access-request page
        when one is configured."""
        apis = [Api.BEACON]
        if self.facts.has_files:
            apis += [Api.DRS, Api.HTSGET]
        if self.catalogue.access_request_url:
            apis.append(Api.ACCESS_REQUEST)
        return apis

    def access_rights(self) -> URIRef:
        """Configured, else from the security level: PUBLIC -> PUBLIC, otherwise RESTRICTED
        (decision record 0027)."""
        configured = self.dataset.catalogue.access_rights
        if configured is None:
            public = self.dataset.security_level is SecurityLevel.PUBLIC
            configured = "PUBLIC" if public else "RESTRICTED"
        return ACCESS_RIGHT[configured]

    def published_individuals(self) -> int | None:
        """The number of people, left out when it is below the small-count threshold and
        above zero (decision record 0027)."""
        people = self.facts.individuals
        return None if 0 < people < self.small_count_threshold else people


def _count(value: int) -> Literal:
    return Literal(value, datatype=XSD.nonNegativeInteger)  # rdflib's int is xsd:integer


def dataset(iris: Iris, view: DatasetView) -> Graph:
    """The dataset record at ``/fdp/dataset/{identifier}``."""
    graph = new_graph()
    node = iris.dataset(view.identifier)
    settings, catalogue, record = view.dataset, view.catalogue, view.dataset.catalogue
    for cls in (DCAT.Dataset, DCAT.Resource):
        graph.add((node, RDF.type, cls))
    graph.add((node, DCTERMS.identifier, Literal(view.identifier)))
    graph.add((node, DCTERMS.title, Literal(settings.name, lang="en")))
    graph.add((node, DCTERMS.description, Literal(settings.description, lang="en")))
    graph.add((node, DCTERMS.accessRights, view.access_rights()))
    add_legislation(
        graph, node, [*catalogue.applicable_legislation, *record.applicable_legislation]
    )
    for creator in catalogue.creators:
        add_agent(graph, node, DCTERMS.creator, creator)
    add_agent(graph, node, DCTERMS.publisher, catalogue.publisher)
    if catalogue.hdab is not None:
        add_agent(graph, node, HEALTHDCATAP.hdab, catalogue.hdab)
    add_contact(graph, node, record.contact or catalogue.publisher.contact)
    add_iris(graph, node, DCAT.theme, [HEALTH_THEME, *catalogue.themes, *record.themes])
    add_iris(graph, node, HEALTHDCATAP.healthCategory, [
        GDI[f"HealthCategory{c}"] for c in record.health_categories
    ])  # fmt: skip
    add_iris(graph, node, DCTERMS.conformsTo, [GDI[c] for c in record.conforms_to])
    add_iris(graph, node, DPV.hasLegalBasis, record.legal_basis)
    if record.synthetic:
        graph.add((node, DCTERMS.type, DATASET_TYPE.SYNTHETIC_DATA))
    for keyword in record.keywords:
        graph.add((node, DCAT.keyword, Literal(keyword, lang="en")))
    for notation in record.other_identifiers:
        other = BNode()
        graph.add((node, ADMS.identifier, other))
        graph.add((other, RDF.type, ADMS.Identifier))
        graph.add((other, SKOS.notation, Literal(notation)))
    graph.add((node, HEALTHDCATAP.numberOfRecords, _count(view.facts.records)))
    people = view.published_individuals()
    if people is not None:
        graph.add((node, HEALTHDCATAP.numberOfUniqueIndividuals, _count(people)))
    modified = view.facts.modified
    if modified is not None:
        graph.add((node, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.dateTime)))
    graph.add((node, DCTERMS.isPartOf, iris.catalog))
    distributions = [iris.distribution(view.identifier, api) for api in view.apis()]
    add_container(graph, node, "distributions", DCAT.distribution, distributions)
    add_record(graph, node, modified, catalogued=True)
    return graph


def distribution(iris: Iris, view: DatasetView, api: Api) -> Graph:
    """One distribution at ``/fdp/distribution/{identifier}/{api}`` with its inline data
    service (GDI DistributionShape and DataServiceShape)."""
    graph = new_graph()
    node = iris.distribution(view.identifier, api)
    dataset_iri = iris.dataset(view.identifier)
    for cls in (DCAT.Distribution, DCAT.Resource):
        graph.add((node, RDF.type, cls))
    title = f"{view.dataset.name} via {API_TITLES[api]}"
    graph.add((node, DCTERMS.title, Literal(title, lang="en")))
    graph.add((node, DCTERMS.isPartOf, dataset_iri))
    graph.add((node, DCTERMS.accessRights, view.access_rights()))
    add_legislation(graph, node, view.catalogue.applicable_legislation)
    if api is Api.ACCESS_REQUEST:
        graph.add((node, DCAT.accessURL, URIRef(str(view.catalogue.access_request_url))))
    else:
        endpoint = iris.api_endpoint(api)
        access = URIRef(f"{endpoint}/datasets/{view.identifier}") if api is Api.BEACON else endpoint
        graph.add((node, DCAT.accessURL, access))
        service = BNode()
        graph.add((node, DCAT.accessService, service))
        graph.add((service, RDF.type, DCAT.DataService))
        graph.add((service, DCTERMS.title, Literal(f"gdi-node {API_TITLES[api]}", lang="en")))
        graph.add((service, DCAT.endpointURL, endpoint))
        graph.add((service, DCAT.endpointDescription, URIRef(f"{endpoint}/openapi.json")))
        graph.add((service, DCAT.servesDataset, dataset_iri))
    add_record(graph, node, view.facts.modified, catalogued=True)
    return graph
