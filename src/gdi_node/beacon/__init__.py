"""Beacon v2 (framework and default model v2.1.1, v2.2 count precision) and the national
allele-frequency database.

Code map (decision record 0009). Imports run downward only, and ``queries`` and ``ingest``
never import each other (``lint-imports`` checks this):

- ``api``: the operationId -> handler table of ``openapi/beacon.yaml``, and ``mount``, which
  builds the Beacon services from the app's runtime (gdi_node.web.runtime).
- ``queries``: answering. ``service`` is the use cases: it checks a request and hands it to
  ``gate``, the one privacy gate (permits and their audit, granularity, budget, scopes,
  filters; decision record 0016), with the operation's answerer: ``variant_answers``
  (g_variants), ``variant_presence`` (g_variants without variant parameters: whether each
  dataset holds any variant, at boolean granularity), ``metadata`` (individuals, biosamples,
  runs, analyses and their paths) or ``collections`` (datasets, cohorts, filtering terms).
  ``scopes`` holds the consenting samples per data generation. ``small_scopes`` withholds
  scopes that single out a few people.
  ``entry_answers``, ``alleles`` and ``answers`` turn rows into records, counts and
  frequencies; ``site_calls`` says, for a sequence query a dataset has no allele for, how many
  chromosomes were called at the site; ``item_release`` decides which frequency items a record
  shows (complementary suppression, decision record 0022). ``filter_match`` resolves filters;
  ``population_filters`` takes the GDI network's population filters (sexFilter,
  countryFilter) out of them and lists a record's population items (decision record 0018).
  ``frequency_export`` is the sites-only frequency release of a dataset (``gdi-node export
  frequencies``), which ``sites_vcf`` writes as a bgzipped, indexed VCF. On a hub,
  ``federated`` asks the members (gdi_node.federation) while the gate answers the hub's own
  datasets, and combines the answers (decision record 0031).
- ``ingest``: loading. ``vcf`` with ``callset_load`` (short transactions, shown at once) loads
  VCF/BCF, numbering samples in ``sample_numbers`` from the ``sample_sheet``; ``callability``
  decides how a file's absent sites count (its mode) and finds a gVCF's gaps;
  ``callable_bed`` reads a sample's callable-regions BED and gives its complement as gaps;
  ``allele_rows`` describes an allele's row from its record. A single-sample file (one
  genome) is read on its own by ``genome_reader`` and written with other genomes by
  ``genome_group`` (each distinct allele once per group). ``folder_load`` finds the files of
  a folder or manifest, reads them on every core and writes them in groups;
  ``bff_variants`` loads BFF genomicVariations. ``metadata`` loads BFF records
  (``metadata_files``) and Phenopackets (``phenopackets``). ``consent`` handles
  opt-out and opt-in; ``withdraw`` takes a genome or a file out of a dataset.
- ``store``: SQL only. ``variant_rows`` and ``variant_where`` read variants (one row per allele
  and dataset, decision record 0020), ``variant_writes`` ORs a load's bits into their carrier
  slices, ``genotype_sets`` gives a file's samples their bits and clears a removed file's,
  ``uncalled`` holds where a gVCF's (or a BED's) samples are not called,
  ``variant_bins`` holds the range counts, ``variant_presence`` finds a dataset's first
  alleles with a carrier, ``entry_rows`` reads metadata records
  and ``entry_writes`` writes them. ``variant_stream`` reads one dataset's rows a chunk at a
  time, in position order. Also ``callsets``, ``budget``, ``generation``, ``handovers`` and
  ``load_lease``.
- ``framework``: the Beacon v2 vocabulary. ``documents`` holds the one ``ENTRY_TYPES`` table and
  the informational documents. Also ``requests``, ``filters``, ``responses``, ``entry_index``
  and ``model_schemas``. A hub checks a member's answer with ``member_answers`` and combines
  answers in ``federated_responses`` (transparent or opaque), summing frequencies in
  ``merged_frequencies``; ``federated_collections`` adds the members' kept datasets and
  filtering terms to the hub's own.
- ``model``: pure values. ``variants``, ``carriers`` (roaring bitmaps of genotype-set bits in
  slices, and the counts of an allele from them), ``assemblies``, ``annotations``,
  ``ontology``, ``precision``, ``complements`` (the cells rule of decision record 0022),
  ``spans`` (what a file covers per contig), ``ploidy`` (copies per sex and position: the
  PARs; the sexes of the bits, which ``carriers`` applies: decision record 0023) and
  ``populations`` (the GDI network's labels).

A g_variants request: ``api`` -> ``queries.service.BeaconService.g_variants`` (checks the
query) -> ``queries.gate.PrivacyGate.answer`` (permits, audited; granularity; budget check;
scopes) -> ``queries.variant_answers`` -> ``store.variant_rows``; back in the gate the budget
is spent and the answer shaped by ``framework.responses``.

Where a change goes:
- new SQL goes in ``store``;
- a new answer goes in ``queries``, as an answerer the gate runs (never around it);
- a new document shape goes in ``framework``;
- a new input format goes in ``ingest``.
"""
