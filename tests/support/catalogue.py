"""A catalogue configuration for tests, and the GDI shapes check every served graph must pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyshacl import validate
from rdflib import RDF, Graph, URIRef

from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions, prepare_database
from gdi_node.catalogue.shapes import gdi_shapes
from gdi_node.config.settings import Settings
from tests.support.beacon_data import write_vcf

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


SAMPLES = [f"S{n}" for n in range(1, 9)]
# two alleles carried in the open set (4 and 2 carriers), one carried by nobody
OPEN_RECORDS = [
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 4 + ["0/0"] * 4),
    "chr22\t200\t.\tC\tT\t.\tPASS\t.\tGT\t" + "\t".join(["1/1"] * 2 + ["0/0"] * 6),
    "chr22\t300\t.\tG\tA\t.\tPASS\t.\tGT\t" + "\t".join(["0/0"] * 8),
]
CTRL_RECORDS = ["chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1"]


def catalogued_settings(tmp: Path, public_url: str, database_url: str | None = None) -> Settings:
    """Two catalogued datasets with GDI identifiers, a local passport issuer."""
    return Settings.model_validate(
        {
            "data_dir": tmp / "data",
            "database_url": database_url,
            "public_url": public_url,
            "datasets": catalogued_datasets(),
            "catalogue": CATALOGUE,
            "trust": {"local_issuer": True, "residency": {"networks": ["127.0.0.0/8"]}},
        }
    )


def load_open(settings: Settings, tmp: Path, name: str = "open.vcf.gz", records=None) -> None:
    """Eight people (IND-1..IND-8) into OPEN; ``records`` default to OPEN_RECORDS."""
    sheet = tmp / "samples.tsv"
    sheet.write_text(
        "sample\tindividual_id\n" + "".join(f"S{n}\tIND-{n}\n" for n in range(1, 9)),
        encoding="utf-8",
    )
    vcf = write_vcf(tmp / name, SAMPLES, records or OPEN_RECORDS)
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN", sample_sheet=sheet)


def load_controlled(settings: Settings, tmp: Path) -> None:
    """Three people (C1..C3) into CTRL."""
    vcf = write_vcf(tmp / "ctrl.vcf.gz", ["C1", "C2", "C3"], CTRL_RECORDS)
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "CTRL")


def migrate(settings: Settings) -> None:
    """An empty, migrated database with the declared datasets."""
    prepare_database(settings)


def opt_out(settings: Settings, *people: str) -> None:
    with migrated_sessions(settings) as sessions:
        ConsentRegistry(sessions).opt_out(list(people), "withdrew consent")
