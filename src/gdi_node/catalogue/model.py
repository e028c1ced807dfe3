"""Pure values of the catalogue: the vocabularies it writes (namespaces, EU authority tables,
the EHDS ELI, the ``gdi:`` terms of the GDI metadata shapes) and the facts the node knows of a
dataset (:class:`DatasetFacts`).

Namespaces and IRIs are copied from the GDI metadata shapes at commit 3f1085d (design note §2.2,
pitfall 6 of §2.3: never from the submission table's documentation links) and from the FAIR
Data Point ontology (``fdp-o:``, FDP specification 1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rdflib import Namespace, URIRef

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
FDP_O = Namespace("https://w3id.org/fdp/fdp-o#")
LDP = Namespace("http://www.w3.org/ns/ldp#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DPV = Namespace("https://w3id.org/dpv#")
GDI = Namespace("http://data.gdi.eu/core/p2/")
ACCESS_RIGHT = Namespace("http://publications.europa.eu/resource/authority/access-right/")
DATA_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
DATASET_TYPE = Namespace("https://publications.europa.eu/resource/authority/dataset-type/")

# The EHDS regulation (EU) 2025/327 in its two spellings: the shapes' sh:defaultValue and the
# submission table's (decision record 0027 emits both).
EHDS_ELI = (
    URIRef("http://data.europa.eu/eli/reg/2025/327/oj"),
    URIRef("https://eur-lex.europa.eu/eli/reg/2025/327/oj"),
)
HEALTH_THEME = DATA_THEME.HEAL
FDP_SPEC = URIRef("https://specs.fairdatapoint.org/fdp-specs-v1.2.html")
GDI_PROFILE = URIRef("http://data.gdi.eu/core/p2/")


class Api(StrEnum):
    """The node's APIs a dataset can be distributed through, and the access-request page."""

    BEACON = "beacon"
    DRS = "drs"
    HTSGET = "htsget"
    ACCESS_REQUEST = "access-request"


API_TITLES = {
    Api.BEACON: "Beacon v2 (allele frequencies and discovery)",
    Api.DRS: "GA4GH DRS 1.5 (files)",
    Api.HTSGET: "GA4GH htsget 1.3 (streamed reads and variants)",
    Api.ACCESS_REQUEST: "Access request",
}


@dataclass(frozen=True)
class DatasetFacts:
    """What the node knows of one dataset from its data, never configured.

    ``records``: distinct alleles with a carrier (one row per allele, decision record 0020);
    ``individuals``: distinct people with genotypes or records, opted-out people left out
    (decision record 0012); ``has_files``: files registered for DRS and htsget;
    ``modified``: the end of the last change (load, removal, registration), None if never."""

    records: int
    individuals: int
    has_files: bool
    modified: datetime | None
