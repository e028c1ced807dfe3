"""Beacon v2 (framework and default model v2.1.1, v2.2 count precision) and the national
allele-frequency database.

Code map (decision record 0009). Imports run downward only, and ``queries`` and ``ingest``
never import each other (``lint-imports`` checks this):

- ``api``: the operationId -> handler table of ``openapi/beacon.yaml``, and ``mount``, which
  builds the Beacon services from the app's runtime (gdi_node.web.runtime).
- ``queries``: answering. ``service`` holds permits, granularity and the budget, and answers
  g_variants through ``variant_answers``. ``metadata`` answers entries, datasets, cohorts and
  filtering terms. ``scopes`` holds the consenting samples per data generation. ``small_scopes``
  withholds scopes that single out a few people. ``alleles`` and ``answers`` turn rows into
  counts and frequencies.
- ``ingest``: loading. ``vcf`` with ``callset_load`` (short transactions, shown at once) loads
  VCF/BCF. ``metadata`` loads BFF and Phenopackets records. ``consent`` handles opt-out and
  opt-in.
- ``store``: SQL only. ``variant_rows`` and ``variant_where`` read variants, ``variant_bins``
  holds the range counts, ``entry_rows`` reads metadata records. Also ``callsets``, ``budget``,
  ``generation`` and ``handovers``.
- ``framework``: the Beacon v2 vocabulary. ``documents`` holds the one ``ENTRY_TYPES`` table and
  the informational documents. Also ``requests``, ``filters``, ``responses``, ``entry_index``
  and ``model_schemas``.
- ``model``: pure values. ``variants``, ``carriers`` (roaring bitmaps), ``assemblies``,
  ``annotations``, ``ontology`` and ``precision``.

A g_variants request: ``api`` -> ``queries.service.BeaconService.g_variants`` (permits, audited;
granularity; budget) -> ``queries.variant_answers`` -> ``store.variant_rows`` -> shaped by
``framework.responses``.

Where a change goes:
- new SQL goes in ``store``;
- a new answer goes in ``queries``;
- a new document shape goes in ``framework``;
- a new input format goes in ``ingest``.
"""
