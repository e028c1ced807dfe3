"""The node's data catalogue: a FAIR Data Point at ``/fdp`` serving the GDI metadata profile of
HealthDCAT-AP release 5 (design note docs/design/gdi-network.md §1, §2, §6; decision records
0026, 0027).

Code map. Imports run downward only (``lint-imports``: this package imports none of beacon,
htsget, drs or node; live facts are read with SQL through gdi_node.db.models):

- ``api``: the operationId -> handler table of ``openapi/catalogue.yaml``, content
  negotiation applied, ETag/Last-Modified/304; ``mount`` builds the service from the runtime.
- ``service``: ``CatalogueService``, one method per record (FDP index, catalogue, dataset,
  distribution) returning a ``Document`` (graph, IRI, title, modification time).
- ``rdf`` (FDP index, catalogue, containers, metadata records, agents), ``dataset_rdf``
  (dataset, distributions with inline data services), ``html`` (a graph as a page),
  ``negotiation`` (Accept and ``?format=``), ``shapes`` (the vendored GDI shapes).
- ``iris``: every IRI, minted from ``public_url``.
- ``store``: SQL only: counts, files and last change per dataset, cached per Beacon generation.
- ``model``: pure values: vocabularies and ``DatasetFacts``.

Configuration: ``catalogue:`` and ``datasets[].identifier`` / ``datasets[].catalogue``
(gdi_node.config.catalogue, gdi_node.config.identifiers).
"""
