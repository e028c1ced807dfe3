"""igv.js in headless Chromium against ``gdi-node serve``: a BAM track over htsget, a
CRAM-stored object served as BAM (igv.js cannot read CRAM over htsget), and a controlled VCF
track with a bearer token. The page is on another origin, so CORS is exercised for real.
Screenshots are kept under ``artifacts/igv/``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pysam
import pytest
import yaml

from gdi_node.bootstrap import open_ingestor
from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import REPO_ROOT, shared_path
from tests.support.htsget_setup import Registered, node_settings, register
from tests.support.igv_harness import render_igv, skip_unless_browser_tools, track_result
from tests.support.processes import free_port, running_node

pytestmark = pytest.mark.slow
ARTIFACTS = REPO_ROOT / "artifacts" / "igv"
READS_LOCUS = "11:5,010,001-5,011,000"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Registered, str]]:
    skip_unless_browser_tools()
    shared_path("data", "htsget")
    tmp = tmp_path_factory.mktemp("igv-node")
    port = free_port()
    settings = node_settings(tmp, f"http://127.0.0.1:{port}")
    registered = register(settings, tmp / "store")
    controlled_vcf = tmp / "store" / "controlled" / "calls.vcf.gz"
    shutil.copy(registered.paths["vcf"], controlled_vcf)
    shutil.copy(f"{registered.paths['vcf']}.tbi", f"{controlled_vcf}.tbi")
    with open_ingestor(settings) as ingestor:
        ctrl_vcf = ingestor.ingest([controlled_vcf], "CTRL")[0].object_id
    registered.ids["ctrl_vcf"] = ctrl_vcf
    registered.paths["ctrl_vcf"] = controlled_vcf
    config = tmp / "node.yaml"
    data = settings.model_dump(mode="json")
    data["server"]["port"] = port
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    token = LocalIssuer.for_settings(settings).passport(settings, "clinician", ["CTRL"])
    with running_node(["--config", str(config), "serve"], port, tmp) as node:
        yield node, registered, token


def chrom_sizes(path: Path, out: Path) -> Path:
    """A chrom.sizes reference with the data file's own contig names (igv.js needs them)."""
    if path.name.endswith(".vcf.gz"):
        with pysam.VariantFile(str(path)) as variants:
            rows = [(c.name, c.length or 1) for c in variants.header.contigs.values()]
    else:
        with pysam.AlignmentFile(str(path)) as reads:
            rows = list(zip(reads.references, reads.lengths, strict=True))
    out.write_text("".join(f"{name}\t{length}\n" for name, length in rows), encoding="utf-8")
    return out


def test_igv_draws_reads_from_bam_and_from_cram_served_as_bam(
    served: tuple[Any, Registered, str], tmp_path: Path
) -> None:
    node, reg, _ = served
    tracks = [
        {
            "type": "alignment",
            "sourceType": "htsget",
            "format": "bam",
            "name": "bam",
            "url": f"{node.base_url}/htsget/reads/{reg.ids['bam']}",
        },
        {
            "type": "alignment",
            "sourceType": "htsget",
            "format": "bam",
            "name": "cram-as-bam",
            "url": f"{node.base_url}/htsget/reads/{reg.ids['cram']}",
        },
    ]
    shot = ARTIFACTS / "reads-bam-and-cram.png"
    result = render_igv(
        tracks, READS_LOCUS, chrom_sizes(reg.paths["bam"], tmp_path / "r.sizes"), screenshot=shot
    )
    print(f"igv.js screenshot: {shot}")
    bam, cram = track_result(result, "bam"), track_result(result, "cram-as-bam")
    assert bam["error"] is None, bam
    assert cram["error"] is None, cram
    assert bam["drawn"] > 100
    assert cram["drawn"] == bam["drawn"]
    assert shot.stat().st_size > 10_000
    tickets = [r for r in result["requests"] if "/htsget/reads/" in r["url"]]
    assert any("class=header" in r["url"] for r in tickets)


def test_igv_draws_a_controlled_vcf_with_a_bearer_token_and_nothing_without(
    served: tuple[Any, Registered, str], tmp_path: Path
) -> None:
    node, reg, token = served
    url = f"{node.base_url}/htsget/variants/{reg.ids['ctrl_vcf']}"
    with pysam.VariantFile(str(reg.paths["ctrl_vcf"])) as variants:
        first = next(iter(variants.fetch()))
        locus = f"{first.chrom}:1-5000"
        expected = sum(1 for _ in variants.fetch(first.chrom, 0, 5000))
    tracks = [
        {
            "type": "variant",
            "sourceType": "htsget",
            "format": "vcf",
            "name": "granted",
            "url": url,
            "oauthToken": token,
        },
        {
            "type": "variant",
            "sourceType": "htsget",
            "format": "vcf",
            "name": "anonymous",
            "url": url,
        },
    ]
    shot = ARTIFACTS / "variants-with-token.png"
    result = render_igv(
        tracks, locus, chrom_sizes(reg.paths["ctrl_vcf"], tmp_path / "v.sizes"), screenshot=shot
    )
    print(f"igv.js screenshot: {shot}")
    granted, anonymous = track_result(result, "granted"), track_result(result, "anonymous")
    assert granted["error"] is None, granted
    assert granted["drawn"] == expected > 0
    assert anonymous["drawn"] == 0
    assert anonymous["error"], "the refusal is reported, not silently empty"
