"""The frequency browser: the national allele-frequency database as web pages for clinicians
(``/browser``, openapi/browser.yaml, decision record 0032).

Code map. The pages are a client of the node's own Beacon: their script asks
``/ga4gh/beacon/v2/g_variants`` with the user's token, so nothing here reads the genomes, and
the browser imports nothing of the Beacon but its pure ``model`` (``lint-imports`` checks this):

- ``api``: the operationId -> handler table and ``mount``; pages with their headers
  (Content-Security-Policy), search answers, the igv.js view, files.
- ``routes``: what each page URL shows (the Beacon request parameters its script sends, its
  heading), or why it names nothing.
- ``shell``: the one HTML page every route is served as, with the route as JSON data.
- ``search`` reads a search text (``notation``) against the browser's assemblies and the gene
  reference (``genes``) and offers choices or says why there are none.
- ``messages``: the Danish and English words (``messages.json``) and the choice of language.
- ``tracks``: the files a signed-in user's file permits let igv.js draw, as htsget tracks.
- ``static/``: the page script (ES modules: ``browser`` the entry, ``beacon`` the Beacon
  client, ``pages``, ``table``, ``plot``, ``signin``, ``igv_view``, ``format``) and the style
  sheet, shipped in the wheel.
"""
