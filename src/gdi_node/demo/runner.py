"""``gdi-node demo``: synthetic data, registered in a fresh node on embedded SQLite.

Everything the demo makes lives in its data directory: the generated files, the settings file it
runs from, the SQLite database and ``demo.json`` with the URLs, ids and commands for scripts.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from gdi_node.bootstrap import open_ingestor
from gdi_node.config.loading import load_settings
from gdi_node.config.settings import Settings
from gdi_node.demo.beacon_demo import beacon_commands, load_beacon
from gdi_node.demo.synthetic import DemoFiles, generate_demo_data
from gdi_node.passport.local_issuer import LocalIssuer
from gdi_node.storage.ingest import IngestResult

DEMO_TOKEN_TTL = 24 * 3600
PUBLIC_DATASET = "demo-public"
CONTROLLED_DATASET = "demo-controlled"


@dataclass(frozen=True)
class PreparedDemo:
    settings: Settings
    config_file: Path
    files: DemoFiles
    objects: list[IngestResult]
    facts: dict[str, Any]


def _write_config(data_dir: Path, host: str, port: int) -> Path:
    config = {
        "data_dir": ".",
        "public_url": f"http://{host}:{port}",
        "server": {"host": host, "port": port, "workers": 1},
        # The demo trusts its own local passport issuer and treats loopback as in-country.
        "trust": {"local_issuer": True, "residency": {"networks": ["127.0.0.0/8", "::1/128"]}},
        # The demo CRAM does not embed its reference: transcoding to BAM decodes with this one.
        "htsget": {"reference_fasta": str(data_dir / "files" / "reference.fa")},
        "node": {
            "id": "org.example.gdi-node.demo",
            "name": "gdi-node demo",
            "description": "Demo node with synthetic data (no real persons)",
            "environment": "dev",
        },
        "datasets": [
            {
                "id": PUBLIC_DATASET,
                "name": "Demo variants (synthetic)",
                "description": "Synthetic multi-sample VCF and BCF of 8 samples, 2 populations",
                "security_level": "PUBLIC",
            },
            {
                "id": CONTROLLED_DATASET,
                "name": "Demo reads (synthetic)",
                "description": "Synthetic BAM and CRAM of 3 samples",
                "security_level": "CONTROLLED",
            },
        ],
    }
    path = data_dir / "gdi-node.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _object(objects: list[IngestResult], fmt: str) -> IngestResult:
    return next(o for o in objects if o.format == fmt)


def _commands(
    base: str,
    token_file: Path,
    reference: Path,
    objects: list[IngestResult],
    tokens: dict[str, str],
) -> list[dict[str, str]]:
    bearer = f"Authorization: Bearer {tokens['controlled']}"
    bam, cram, vcf = (_object(objects, f) for f in ("BAM", "CRAM", "VCF"))
    region = "referenceName=chr1&start=10000&end=20000"
    htslib_env = (
        f"env HTS_AUTH_LOCATION={shlex.quote(str(token_file))}"
        " HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER='I understand the risks'"
    )
    commands = [
        {"what": "Describe the node (GA4GH service-info)", "run": f"curl -s {base}/service-info"},
        {"what": "List the APIs it serves", "run": f"curl -s {base}/services"},
        {"what": "Is it ready?", "run": f"curl -s {base}/ready"},
        {"what": "Prometheus metrics", "run": f"curl -s {base}/metrics"},
        {"what": "What an anonymous caller may see", "run": f"curl -s {base}/permissions"},
        {
            "what": f"What the demo passport for {CONTROLLED_DATASET} may see",
            "run": f"curl -s -H {shlex.quote(bearer)} {base}/permissions",
        },
    ]
    commands += [
        {
            "what": "htsget: count reads of a region of the controlled BAM (samtools, token)",
            "run": f"{htslib_env} samtools view -c '{base}/htsget/reads/{bam.object_id}?{region}'",
        },
        {
            "what": "htsget: the same region from the CRAM (samtools, token, reference)",
            "run": f"{htslib_env} samtools view -c -T {shlex.quote(str(reference))}"
            f" '{base}/htsget/reads/{cram.object_id}?format=CRAM&{region}'",
        },
        {
            "what": "htsget: variants of the public VCF (bcftools)",
            "run": f"bcftools view -H '{base}/htsget/variants/{vcf.object_id}?referenceName=chr1'",
        },
    ]
    return commands


def _igv_view(
    base: str, files: DemoFiles, objects: list[IngestResult], token: str
) -> dict[str, Any]:
    """igv.js configuration for the demo's data (BAM, CRAM served as BAM, VCF) via htsget."""
    bam, cram, vcf = (_object(objects, f) for f in ("BAM", "CRAM", "VCF"))

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
        "locus": "chr1:10,001-12,000",
        "tracks": [
            track("demo BAM", "alignment", "bam", f"{reads}/{bam.object_id}", True),
            track("demo CRAM (as BAM)", "alignment", "bam", f"{reads}/{cram.object_id}", True),
            track("demo VCF", "variant", "vcf", f"{variants}/{vcf.object_id}", False),
        ],
    }


_IGV_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>gdi-node demo in igv.js</title>
<script src="https://cdn.jsdelivr.net/npm/igv@3.8.10/dist/igv.min.js"></script></head>
<body><div id="igv"></div><script>
const view = VIEW;
// igv.js reads chromosome sizes from a URL: hand it the demo's sizes as a blob URL.
const sizes = URL.createObjectURL(new Blob([view.reference.chromSizes], {type: "text/plain"}));
const reference = {id: view.reference.id, name: view.reference.name, format: "chromsizes",
                   url: sizes};
igv.createBrowser(document.getElementById("igv"),
  {reference, locus: view.locus, tracks: view.tracks, loadDefaultGenomes: false});
</script></body></html>
"""


def prepare_demo(data_dir: Path, host: str, port: int) -> PreparedDemo:
    """Generate and register the demo data; write settings and ``demo.json``."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = _write_config(data_dir, host, port)
    settings = load_settings(config_file, env={})
    files = generate_demo_data(data_dir / "files")
    with open_ingestor(settings) as ingestor:
        objects = [
            *ingestor.ingest([files.vcf, files.bcf], PUBLIC_DATASET),
            *ingestor.ingest([files.bam, files.cram], CONTROLLED_DATASET),
        ]
    load_beacon(settings, files, PUBLIC_DATASET)
    issuer = LocalIssuer.for_settings(settings)
    tokens = {
        "controlled": issuer.passport(
            settings, "demo-researcher", [CONTROLLED_DATASET], registered=True, ttl=DEMO_TOKEN_TTL
        ),
        "registered": issuer.passport(
            settings, "demo-registered", [], registered=True, ttl=DEMO_TOKEN_TTL
        ),
    }
    base = settings.public_url
    token_file = data_dir / "demo-passport.token"
    token_file.write_text(tokens["controlled"], encoding="utf-8")
    igv_view = _igv_view(base, files, objects, tokens["controlled"])
    (data_dir / "igv.html").write_text(
        _IGV_PAGE.replace("VIEW", json.dumps(igv_view)), encoding="utf-8"
    )
    facts: dict[str, Any] = {
        "base_url": base,
        "urls": {
            "service_info": f"{base}/service-info",
            "services": f"{base}/services",
            "health": f"{base}/health",
            "ready": f"{base}/ready",
            "metrics": f"{base}/metrics",
            "htsget_reads": f"{base}/htsget/reads/",
            "htsget_variants": f"{base}/htsget/variants/",
            "beacon": f"{base}/ga4gh/beacon/v2",
            "openapi": {
                "node": f"{base}/openapi.json",
                "node_ui": f"{base}/ui/",
                "htsget": f"{base}/htsget/openapi.json",
                "beacon": f"{base}/ga4gh/beacon/v2/openapi.json",
            },
        },
        "config_file": str(config_file),
        "database_url": settings.effective_database_url,
        "datasets": [d.model_dump(mode="json") for d in settings.datasets],
        "objects": [
            {
                "id": o.object_id,
                "drs_uri": o.drs_uri,
                "dataset": o.dataset_id,
                "format": o.format,
                "path": o.path,
                "index_path": o.index_path,
                "sha256": o.sha256,
            }
            for o in objects
        ],
        "files": {
            "reference": str(files.reference),
            "chrom_sizes": str(files.chrom_sizes),
            "samples": str(files.samples),
        },
        "tokens": tokens,
        "passport_jwks": f"{base}/passport/jwks",
        "igv": igv_view,
        "igv_page": str(data_dir / "igv.html"),
        "commands": [
            *_commands(base, token_file, files.reference, objects, tokens),
            *beacon_commands(base, files),
        ],
    }
    (data_dir / "demo.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return PreparedDemo(settings, config_file, files, objects, facts)


def print_demo(demo: PreparedDemo, *, serving: bool) -> None:
    """Tell a person what is there and what to type next."""
    facts = demo.facts
    click.echo(f"gdi-node demo: {len(demo.objects)} files registered in {demo.config_file.parent}")
    for obj in facts["objects"]:
        click.echo(f"  {obj['format']:<4} {obj['dataset']:<16} {obj['drs_uri']}")
    click.echo(f"\nDemo passport for {CONTROLLED_DATASET} (valid 24 h, local issuer):")
    click.echo(f"  {facts['tokens']['controlled']}")
    click.echo(f"\nigv.js page (open in a browser while the node runs): {facts['igv_page']}")
    click.echo(f"\nFacts for scripts: {demo.config_file.parent / 'demo.json'}")
    click.echo("Try (in another terminal):" if serving else "Once served, try:")
    for command in facts["commands"]:
        click.echo(f"  # {command['what']}\n  {command['run']}")
    if serving:
        click.echo(f"\nServing on {facts['base_url']} (Ctrl-C to stop)\n")
