"""The FAIR Data Point's use cases: each record (FDP index, catalogue, dataset, distribution) as
an rdflib graph with its IRI and modification time, from the configuration and the live facts
of the store; an unknown record is a NotFoundError.

Datasets are catalogued unless anonymous callers may not even learn they exist (their
``disclosure.anonymous`` is ``none``): the catalogue is public, as the Beacon's dataset list is
to them (decision record 0027). A dataset is addressed by its public identifier only, the
string that is also its Beacon result-set id (decision record 0026).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rdflib import Graph, URIRef

from gdi_node.catalogue import dataset_rdf, rdf
from gdi_node.catalogue.dataset_rdf import DatasetView
from gdi_node.catalogue.iris import CATALOG_KEY, Iris
from gdi_node.catalogue.store import FactsStore
from gdi_node.config.catalogue import CatalogueSettings
from gdi_node.config.settings import DatasetSettings, Settings
from gdi_node.config.trust import Disclosure
from gdi_node.errors import NotFoundError


@dataclass(frozen=True)
class Document:
    """One served record: its graph, its IRI (the URL it is served at), a title for people and
    when what it states last changed (None: unknown)."""

    graph: Graph
    iri: URIRef
    title: str
    modified: datetime | None


def _latest(times: list[datetime | None]) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


class CatalogueService:
    def __init__(self, settings: Settings, store: FactsStore) -> None:
        """Serves nothing (every record a 404) unless ``settings.catalogue`` is set."""
        self._configured = settings.catalogue
        self._threshold = settings.beacon.small_count_threshold
        self._iris = Iris(settings.public_url)
        self._datasets = {
            d.public_id: d
            for d in settings.datasets
            if d.disclosure_limits.anonymous is not Disclosure.NONE
        }
        self._store = store

    def _catalogue(self) -> CatalogueSettings:
        """The catalogue's settings; every record is a 404 when there are none."""
        if self._configured is None:
            raise NotFoundError("this node serves no catalogue (its settings have no catalogue:)")
        return self._configured

    def _views(
        self, catalogue: CatalogueSettings, datasets: list[DatasetSettings]
    ) -> list[DatasetView]:
        facts = self._store.facts([d.id for d in datasets])
        return [DatasetView(d, facts[d.id], catalogue, self._threshold) for d in datasets]

    def _every_view(
        self, catalogue: CatalogueSettings
    ) -> tuple[list[DatasetView], datetime | None]:
        """Every catalogued dataset's view, and when the latest of them last changed."""
        views = self._views(catalogue, list(self._datasets.values()))
        return views, _latest([v.facts.modified for v in views])

    def _view(self, identifier: str) -> DatasetView:
        catalogue = self._catalogue()
        dataset = self._datasets.get(identifier)
        if dataset is None:
            raise NotFoundError(f"no dataset {identifier!r} in this catalogue")
        return self._views(catalogue, [dataset])[0]

    def index(self) -> Document:
        """``/fdp``: the FDP index."""
        catalogue = self._catalogue()
        _, modified = self._every_view(catalogue)
        graph = rdf.fdp_index(self._iris, catalogue, modified)
        return Document(graph, self._iris.root, self._title("FAIR Data Point"), modified)

    def catalog(self, key: str) -> Document:
        """``/fdp/catalog/{key}``: the node's one catalogue."""
        catalogue = self._catalogue()
        if key != CATALOG_KEY:
            raise NotFoundError(f"no catalogue {key!r}; this FAIR Data Point has {CATALOG_KEY!r}")
        views, modified = self._every_view(catalogue)
        members = [self._iris.dataset(v.identifier) for v in views]
        graph = rdf.catalog(self._iris, catalogue, members, modified)
        return Document(graph, self._iris.catalog, self._title("catalogue"), modified)

    def dataset(self, identifier: str) -> Document:
        """``/fdp/dataset/{identifier}``."""
        view = self._view(identifier)
        graph = dataset_rdf.dataset(self._iris, view)
        iri = self._iris.dataset(identifier)
        return Document(graph, iri, view.dataset.name, view.facts.modified)

    def distribution(self, identifier: str, api: str) -> Document:
        """``/fdp/distribution/{identifier}/{api}``: only the APIs that serve the dataset."""
        view = self._view(identifier)
        chosen = next((a for a in view.apis() if a.value == api), None)
        if chosen is None:
            served = ", ".join(a.value for a in view.apis())
            raise NotFoundError(f"dataset {identifier!r} has no {api!r} distribution ({served})")
        graph = dataset_rdf.distribution(self._iris, view, chosen)
        iri = self._iris.distribution(identifier, chosen)
        return Document(graph, iri, f"{view.dataset.name}: {chosen.value}", view.facts.modified)

    def _title(self, what: str) -> str:
        title = self._catalogue().title
        return f"{title.get('en') or next(iter(title.values()))} ({what})"
