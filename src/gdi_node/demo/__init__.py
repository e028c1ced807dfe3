"""``gdi-node demo``: a node with synthetic data, up in seconds, offline.

Code map:

- ``synthetic``: the deterministic data set (reference, public and patients' VCFs, BAM, CRAM).
- ``beacon_demo``: both VCFs and the patients' records loaded into the Beacon; its queries.
- ``commands``: the node, htsget and DRS commands the demo prints, each labelled with what its
  output means (``tests/clients/test_demo_first_hour.py`` runs and checks every one).
- ``igv_page``: the igv.js view and ``igv.html`` (igv.js from the node's ``/static/``).
- ``runner``: settings, registration, the passport, ``demo.json`` and what is printed.
"""
