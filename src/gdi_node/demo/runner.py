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
from gdi_node.demo.synthetic import DemoFiles, generate_demo_data
from gdi_node.passport.local_issuer import LocalIssuer
from gdi_node.settings import Settings, load_settings
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


def _commands(
    base: str, files: DemoFiles, objects: list[IngestResult], tokens: dict[str, str]
) -> list[dict[str, str]]:
    bearer = f"Authorization: Bearer {tokens['controlled']}"
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
    for obj in objects:
        if obj.format == "BAM":
            commands.append(
                {
                    "what": "Read the registered BAM",
                    "run": f"samtools view -c {shlex.quote(obj.path)}",
                }
            )
    commands.append({"what": "The reference igv.js needs", "run": f"cat {files.chrom_sizes}"})
    return commands


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
    facts: dict[str, Any] = {
        "base_url": base,
        "urls": {
            "service_info": f"{base}/service-info",
            "services": f"{base}/services",
            "health": f"{base}/health",
            "ready": f"{base}/ready",
            "metrics": f"{base}/metrics",
            "openapi": {"node": f"{base}/openapi.json", "node_ui": f"{base}/ui/"},
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
        "commands": _commands(base, files, objects, tokens),
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
    click.echo(f"\nFacts for scripts: {demo.config_file.parent / 'demo.json'}")
    click.echo("Try (in another terminal):" if serving else "Once served, try:")
    for command in facts["commands"]:
        click.echo(f"  # {command['what']}\n  {command['run']}")
    if serving:
        click.echo(f"\nServing on {facts['base_url']} (Ctrl-C to stop)\n")
