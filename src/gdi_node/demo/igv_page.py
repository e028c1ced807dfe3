"""The demo's igv.js view and ``igv.html``: the controlled BAM, its CRAM served as BAM and both
VCFs over htsget (igv.js reads BAM and VCF only: htsget 1.3 ``format`` transcoding serves the
CRAM). igv.js itself comes from the node (``/static/igv.min.js``), so the page works offline
while the node runs; it keeps the igv.js browser in ``window.igvBrowser`` for the console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gdi_node.demo.synthetic import DemoFiles

LOCUS = "chr1:10,001-12,000"


def igv_view(base: str, files: DemoFiles, ids: dict[str, str], token: str) -> dict[str, Any]:
    """igv.js configuration; ``ids`` maps ``bam``, ``cram``, ``vcf`` and ``patients`` to the
    objects' ids."""

    def track(name: str, kind: str, fmt: str, url: str, secret: bool) -> dict[str, Any]:
        config = {"name": name, "type": kind, "sourceType": "htsget", "format": fmt, "url": url}
        return {**config, "oauthToken": token} if secret else config

    reads, variants = f"{base}/htsget/reads", f"{base}/htsget/variants"
    return {
        "reference": {
            "id": "demo",
            "name": "gdi-node demo reference",
            "format": "chromsizes",
            "file": str(files.chrom_sizes),
            "chromSizes": files.chrom_sizes.read_text(encoding="utf-8"),
        },
        "locus": LOCUS,
        "tracks": [
            track("demo BAM", "alignment", "bam", f"{reads}/{ids['bam']}", True),
            track("demo CRAM (as BAM)", "alignment", "bam", f"{reads}/{ids['cram']}", True),
            track("demo VCF", "variant", "vcf", f"{variants}/{ids['vcf']}", False),
            track("patients VCF", "variant", "vcf", f"{variants}/{ids['patients']}", True),
        ],
    }


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>gdi-node demo in igv.js</title>
<script src="SCRIPT"></script></head>
<body><p id="note">igv.js and the data come from the demo node at BASE: if this page stays
empty, start it with <code>gdi-node demo</code>.</p><div id="igv"></div><script>
const view = VIEW;
// igv.js reads chromosome sizes from a URL: hand it the demo's sizes as a blob URL.
const sizes = URL.createObjectURL(new Blob([view.reference.chromSizes], {type: "text/plain"}));
const reference = {id: view.reference.id, name: view.reference.name, format: "chromsizes",
                   url: sizes};
window.igvBrowser = igv.createBrowser(document.getElementById("igv"),
  {reference, locus: view.locus, tracks: view.tracks, loadDefaultGenomes: false});
</script></body></html>
"""


def write_igv_page(path: Path, base: str, view: dict[str, Any]) -> None:
    page = _PAGE.replace("SCRIPT", f"{base}/static/igv.min.js").replace("BASE", base)
    path.write_text(page.replace("VIEW", json.dumps(view)), encoding="utf-8")
