"""The IRIs of the FAIR Data Point, all minted from ``public_url`` (design note §6.1): a
harvester treats a document as a dataset only when it states ``<the URL it fetched> a
dcat:Dataset``, so every record's IRI is exactly the URL it is served at, and nothing
redirects. Containers and metadata records are fragments of the document that describes them,
so they dereference without a route of their own.

The FDP index is ``{public_url}/fdp/``: the root of a mount is its base path with a slash, and
``/fdp`` answers 308 to it like every mount's root (gdi_node.web.routing; decision record 0027).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from rdflib import URIRef

from gdi_node.catalogue.model import Api

BASE_PATH = "/fdp"
CATALOG_KEY = "main"  # the node's one catalogue


@dataclass(frozen=True)
class Iris:
    public_url: str  # without a trailing slash (gdi_node.config.settings)

    @property
    def base(self) -> str:
        return f"{self.public_url}{BASE_PATH}"

    @property
    def root(self) -> URIRef:
        return URIRef(f"{self.base}/")

    @property
    def catalog(self) -> URIRef:
        return URIRef(f"{self.base}/catalog/{CATALOG_KEY}")

    def dataset(self, identifier: str) -> URIRef:
        return URIRef(f"{self.base}/dataset/{quote(identifier, safe=':')}")

    def distribution(self, identifier: str, api: Api) -> URIRef:
        return URIRef(f"{self.base}/distribution/{quote(identifier, safe=':')}/{api.value}")

    @staticmethod
    def fragment(document: URIRef, name: str) -> URIRef:
        """``<document>#name``: a container or the metadata record of ``document``."""
        return URIRef(f"{document}#{name}")

    def api_endpoint(self, api: Api) -> URIRef:
        """The base URL of one of the node's APIs (README, "What runs today")."""
        paths = {Api.BEACON: "/ga4gh/beacon/v2", Api.DRS: "/ga4gh/drs/v1", Api.HTSGET: "/htsget"}
        return URIRef(f"{self.public_url}{paths[api]}")
