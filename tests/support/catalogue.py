"""A catalogue configuration for tests, and the GDI shapes check every served graph must pass."""

from __future__ import annotations

from typing import Any

from pyshacl import validate
from rdflib import RDF, Graph, URIRef

from gdi_node.catalogue.shapes import gdi_shapes

CATALOGUE: dict[str, Any] = {
    "title": {"en": "Test genome centre catalogue", "nl": "Testcatalogus"},
    "description": {"en": "Datasets of the test genome centre"},
    "license": "https://creativecommons.org/licenses/by/4.0/",
    "publisher": {
        "name": {"en": "Test Genome Centre"},
        "url": "https://genome.test",
        "contact": {"fn": "Data desk", "email": "data@genome.test", "url": "https://genome.test"},
    },
    "creators": [{"name": {"en": "Test Sequencing Lab"}}],
    "hdab": {"name": {"en": "Test HDAB"}, "contact": {"fn": "HDAB desk", "email": "hdab@x.test"}},
    "access_request_url": "https://portal.test/request",
}


def catalogued_datasets(public: str = "OPEN", controlled: str = "CTRL") -> list[dict[str, Any]]:
    """Two datasets with GDI identifiers: a public one and a controlled one."""
    return [
        {
            "id": public,
            "name": "Open cohort",
            "description": "Public allele frequencies",
            "security_level": "PUBLIC",
            "identifier": "GDI-XX-OPEN-1",
            "catalogue": {"keywords": ["allele frequencies"], "synthetic": True},
        },
        {
            "id": controlled,
            "name": "Controlled cohort",
            "description": "Patients' genotypes",
            "identifier": "GDI-XX-CTRL-2",
            "catalogue": {"conforms_to": ["1MGCompliant"], "health_categories": ["HumanGenetic"]},
        },
    ]


def shape_violations(graph: Graph) -> list[str]:
    """The GDI shapes' violations of ``graph`` (no inference: design note §2.5, pitfall 4)."""
    conforms, report, text = validate(
        graph, shacl_graph=gdi_shapes(), inference="none", allow_warnings=True
    )
    if conforms:
        return []
    sh = "http://www.w3.org/ns/shacl#"
    results = report.subjects(RDF.type, URIRef(sh + "ValidationResult"))
    return [
        f"{report.value(r, URIRef(sh + 'focusNode'))} {report.value(r, URIRef(sh + 'resultPath'))}"
        for r in results
    ] or [str(text)]
