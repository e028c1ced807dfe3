"""The FAIR Data Point's own records as RDF: the FDP index (the root, a
``fdp-o:FAIRDataPoint`` and ``dcat:DataService``), the catalogue (``dcat:Catalog``), the
``ldp:DirectContainer`` listing each record's children, the embedded metadata record, and the
agents and contact points every level shares.

FDP specification 1.2 and the FDP Core draft ("Navigate": a container per child relation with
``ldp:membershipResource``, ``ldp:hasMemberRelation`` and ``ldp:contains``; "Metadata model":
every class stated explicitly, DP-3); GDI metadata shapes at 3f1085d for the catalogue
(CatalogShape) and agents (AgentHdabShape, KindShape). Design note §1.2-§1.4 and §2.2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF

from gdi_node.catalogue.iris import Iris
from gdi_node.catalogue.model import (
    ADMS,
    DATA_THEME,
    DCAT,
    DCATAP,
    DPV,
    EHDS_ELI,
    FDP_O,
    FDP_SPEC,
    GDI,
    GDI_PROFILE,
    HEALTHDCATAP,
    LDP,
    VCARD,
)
from gdi_node.config.catalogue import AgentSettings, CatalogueSettings, ContactSettings


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in {
        "dcat": DCAT,
        "dct": DCTERMS,
        "dcatap": DCATAP,
        "healthdcatap": HEALTHDCATAP,
        "fdp-o": FDP_O,
        "ldp": LDP,
        "vcard": VCARD,
        "adms": ADMS,
        "dpv": DPV,
        "gdi": GDI,
        "foaf": FOAF,
    }.items():
        graph.bind(prefix, namespace)
    return graph


def add_texts(
    graph: Graph, subject: URIRef | BNode, predicate: URIRef, texts: Mapping[str, str]
) -> None:
    """One literal per language (``sh:uniqueLang``)."""
    for language, text in texts.items():
        graph.add((subject, predicate, Literal(text, lang=language)))


def add_contact(graph: Graph, subject: URIRef | BNode, contact: ContactSettings) -> None:
    """``dcat:contactPoint`` as an inline ``vcard:Kind`` (GDI KindShape; design note §1.5,
    item 5: a harvester rewrites an IRI contact point, an inline one it keeps)."""
    kind = BNode()
    graph.add((subject, DCAT.contactPoint, kind))
    graph.add((kind, RDF.type, VCARD.Kind))
    graph.add((kind, VCARD.fn, Literal(contact.fn)))
    graph.add((kind, VCARD.hasEmail, URIRef(contact.email)))
    if contact.url:
        graph.add((kind, VCARD.hasURL, URIRef(contact.url)))


def add_agent(graph: Graph, subject: URIRef, predicate: URIRef, agent: AgentSettings) -> None:
    """An inline ``foaf:Agent`` (GDI AgentCreatorShape and AgentHdabShape)."""
    node = BNode()
    graph.add((subject, predicate, node))
    graph.add((node, RDF.type, FOAF.Agent))
    add_texts(graph, node, FOAF.name, agent.name)
    if agent.url:
        graph.add((node, FOAF.homepage, URIRef(agent.url)))
    if agent.contact is not None:
        add_contact(graph, node, agent.contact)


def add_iris(
    graph: Graph, subject: URIRef, predicate: URIRef, iris: Iterable[str | URIRef]
) -> None:
    for iri in dict.fromkeys(URIRef(str(i)) for i in iris):
        graph.add((subject, predicate, iri))


def add_legislation(graph: Graph, subject: URIRef, extra: Iterable[str]) -> None:
    """The EHDS in both ELI spellings, then ``extra`` (decision record 0027)."""
    add_iris(graph, subject, DCATAP.applicableLegislation, [*EHDS_ELI, *extra])


def add_container(
    graph: Graph, document: URIRef, name: str, relation: URIRef, children: Iterable[URIRef]
) -> None:
    """An ``ldp:DirectContainer`` ``<document#name>`` of ``document``'s children by ``relation``
    (FDP Core "Navigate"); a harvester follows its ``ldp:contains``."""
    container = Iris.fragment(document, name)
    graph.add((container, RDF.type, LDP.DirectContainer))
    graph.add((container, DCTERMS.title, Literal(name, lang="en")))
    graph.add((container, LDP.membershipResource, document))
    graph.add((container, LDP.hasMemberRelation, relation))
    for child in children:
        graph.add((container, LDP.contains, child))
        graph.add((document, relation, child))


def add_record(
    graph: Graph, document: URIRef, modified: datetime | None, *, catalogued: bool
) -> None:
    """The metadata record of ``document``, embedded as ``<document#record>`` (design note
    §1.3: FDP's ``foaf:isPrimaryTopicOf``)."""
    record = Iris.fragment(document, "record")
    graph.add((document, FOAF.isPrimaryTopicOf, record))
    graph.add((record, RDF.type, FDP_O.MetadataRecord))
    if catalogued:
        graph.add((record, RDF.type, DCAT.CatalogRecord))
    graph.add((record, FOAF.primaryTopic, document))
    if modified is not None:
        stamp = Literal(modified.isoformat(), datatype=XSD.dateTime)
        graph.add((record, DCTERMS.modified, stamp))
        graph.add((record, FDP_O.metadataModified, stamp))


def fdp_index(iris: Iris, catalogue: CatalogueSettings, modified: datetime | None) -> Graph:
    """The FDP index at ``/fdp``: the metadata service and its one catalogue."""
    graph = new_graph()
    root = iris.root
    for cls in (FDP_O.FAIRDataPoint, FDP_O.MetadataService, DCAT.DataService, DCAT.Resource):
        graph.add((root, RDF.type, cls))
    add_texts(graph, root, DCTERMS.title, catalogue.title)
    add_texts(graph, root, DCTERMS.description, catalogue.description)
    add_agent(graph, root, DCTERMS.publisher, catalogue.publisher)
    graph.add((root, DCTERMS.license, URIRef(catalogue.license)))
    graph.add((root, DCTERMS.conformsTo, GDI_PROFILE))
    graph.add((root, DCAT.endpointURL, root))
    graph.add((root, FDP_O.conformsToFdpSpec, FDP_SPEC))
    add_container(graph, root, "catalogs", FDP_O.metadataCatalog, [iris.catalog])
    add_record(graph, root, modified, catalogued=False)
    return graph


def catalog(
    iris: Iris, catalogue: CatalogueSettings, datasets: Iterable[URIRef], modified: datetime | None
) -> Graph:
    """The catalogue (GDI CatalogShape: title, description, applicable legislation)."""
    graph = new_graph()
    node = iris.catalog
    for cls in (DCAT.Catalog, DCAT.Resource):
        graph.add((node, RDF.type, cls))
    add_texts(graph, node, DCTERMS.title, catalogue.title)
    add_texts(graph, node, DCTERMS.description, catalogue.description)
    add_legislation(graph, node, catalogue.applicable_legislation)
    add_agent(graph, node, DCTERMS.publisher, catalogue.publisher)
    graph.add((node, DCTERMS.license, URIRef(catalogue.license)))
    graph.add((node, DCTERMS.conformsTo, GDI_PROFILE))
    graph.add((node, DCTERMS.isPartOf, iris.root))
    graph.add((node, DCAT.themeTaxonomy, URIRef(str(DATA_THEME).rstrip("/"))))
    if modified is not None:
        graph.add((node, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.dateTime)))
    add_container(graph, node, "datasets", DCAT.dataset, datasets)
    add_record(graph, node, modified, catalogued=True)
    return graph
