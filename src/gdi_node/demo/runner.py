"""``gdi-node demo``: synthetic data, registered in a fresh node on embedded SQLite.

Everything the demo makes lives in its data directory: the generated files, the settings file it
runs from, the SQLite database and ``demo.json`` with the URLs, ids and commands for scripts.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from gdi_node.bootstrap import open_ingestor
from gdi_node.config.loading import load_settings
from gdi_node.config.settings import Settings
from gdi_node.demo.beacon_demo import beacon_commands, load_beacon
from gdi_node.demo.commands import (
    DemoObjects,
    drs_commands,
    gdi_node_program,
    htsget_commands,
    node_commands,
    print_commands,
)
from gdi_node.demo.igv_page import igv_view, write_igv_page
from gdi_node.demo.synthetic import DEMO_SEED, DemoFiles, generate_demo_data
from gdi_node.passport.local_issuer import LocalIssuer
from gdi_node.storage.ingest import IngestResult

DEMO_TOKEN_TTL = 24 * 3600
PUBLIC_DATASET = "demo-public"
CONTROLLED_DATASET = "demo-controlled"
# their public identifiers (Beacon result sets, the catalogue): the GDI form, XX being the
# ISO 3166 code reserved for user assignment (decision record 0026)
IDENTIFIERS = {PUBLIC_DATASET: "GDI-XX-DEMO-1", CONTROLLED_DATASET: "GDI-XX-DEMO-2"}
# the FAIR Data Point's catalogue (decision record 0027); placeholders a real node replaces
DEMO_CATALOGUE = {
    "title": {"en": "gdi-node demo catalogue (synthetic data)"},
    "description": {"en": "Datasets of the gdi-node demo: synthetic genomes, no real persons"},
    "license": "https://creativecommons.org/publicdomain/zero/1.0/",
    "publisher": {
        "name": {"en": "Example National Genome Centre"},
        "url": "https://genome.example.org",
        "contact": {"fn": "Demo data desk", "email": "mailto:helpdesk@genome.example.org"},
    },
    "creators": [{"name": {"en": "gdi-node demo generator"}}],
}


# searches of the demo data (gdi_node.demo.synthetic_genes): a gene, a variant, a region, a
# (synthetic) dbSNP id, an HGVS expression and a protein change
DEMO_EXAMPLES = (
    "DEMOA",
    "1-5001-G-A",
    "chr1:5001-6000",
    "rs991005191",
    "DEMOT00001.1:c.111G>T",
    "DEMOA p.Arg37Glu",
)


@dataclass(frozen=True)
class PreparedDemo:
    settings: Settings
    config_file: Path
    files: DemoFiles
    objects: list[IngestResult]
    facts: dict[str, Any]


DEMO_NODE = {
    "id": "org.example.gdi-node.demo",
    "name": "gdi-node demo",
    "description": "Demo node with synthetic data (no real persons)",
    "environment": "dev",
}


def _write_config(data_dir: Path, host: str, port: int, node: dict[str, str]) -> Path:
    config = {
        "data_dir": ".",
        "public_url": f"http://{host}:{port}",
        "server": {"host": host, "port": port, "workers": 1},
        # The demo trusts its own local passport issuer and treats loopback as in-country.
        "trust": {"local_issuer": True, "residency": {"networks": ["127.0.0.0/8", "::1/128"]}},
        # The demo CRAM does not embed its reference: transcoding to BAM decodes with this one.
        "htsget": {"reference_fasta": str(data_dir / "files" / "reference.fa")},
        "node": node,
        "datasets": [
            {
                "id": PUBLIC_DATASET,
                "name": "Demo variants (synthetic)",
                "description": "Synthetic joint-called VCF and BCF of 8 reference samples,"
                " 2 populations, 2 cohorts",
                "security_level": "PUBLIC",
                "identifier": IDENTIFIERS[PUBLIC_DATASET],
                "catalogue": {"synthetic": True, "keywords": ["allele frequencies"]},
            },
            {
                "id": CONTROLLED_DATASET,
                "name": "Demo patients (synthetic)",
                "description": "Synthetic joint-called VCF of 20 patients with their phenotypes,"
                " and BAM and CRAM of 3 of them",
                "security_level": "CONTROLLED",
                "identifier": IDENTIFIERS[CONTROLLED_DATASET],
                "catalogue": {"synthetic": True, "keywords": ["phenotypes", "reads"]},
            },
        ],
        "catalogue": DEMO_CATALOGUE,
        # Every demo allele is rare (8 and 20 people): a gene page listing 600 of them costs an
        # anonymous caller 12,000 units, six times the default day's budget. The demo raises it
        # so that the browser can be explored; a real node sizes it to the browsing it accepts
        # (docs/browser.md "The query budget").
        "beacon": {"budget": {"units": 1_000_000}},
        # the frequency browser: the demo's synthetic genes, and searches that find its data
        "browser": {
            "assemblies": ["GRCh38"],
            "genes": [{"assembly": "GRCh38", "path": str(data_dir / "files" / "genes.tsv")}],
            "examples": list(DEMO_EXAMPLES),
        },
    }
    path = data_dir / "gdi-node.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def prepare_demo(
    data_dir: Path,
    host: str,
    port: int,
    *,
    seed: int = DEMO_SEED,
    node: dict[str, str] | None = None,
) -> PreparedDemo:
    """Generate and register the demo data; write settings and ``demo.json``. ``seed`` and
    ``node`` make another node of the same kind (the federation demo's members)."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = _write_config(data_dir, host, port, node or DEMO_NODE)
    settings = load_settings(config_file, env={})
    files = generate_demo_data(data_dir / "files", seed=seed)
    with open_ingestor(settings) as ingestor:
        objects = [
            *ingestor.ingest([files.vcf, files.bcf], PUBLIC_DATASET),
            *ingestor.ingest([files.bam, files.cram, files.patients_vcf], CONTROLLED_DATASET),
        ]
    load_beacon(settings, files, PUBLIC_DATASET, CONTROLLED_DATASET)
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
    by_path = {Path(o.path).name: o for o in objects}
    ids = DemoObjects(
        bam=by_path[files.bam.name].object_id,
        cram=by_path[files.cram.name].object_id,
        vcf=by_path[files.vcf.name].object_id,
        patients=by_path[files.patients_vcf.name].object_id,
        vcf_drs_uri=by_path[files.vcf.name].drs_uri,
    )
    view = igv_view(base, files, asdict(ids), tokens["controlled"])
    write_igv_page(data_dir / "igv.html", base, view)
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
            "catalogue": f"{base}/fdp/",
            "openapi": {
                "node": f"{base}/openapi.json",
                "node_ui": f"{base}/ui/",
                "htsget": f"{base}/htsget/openapi.json",
                "beacon": f"{base}/ga4gh/beacon/v2/openapi.json",
                "drs": f"{base}/ga4gh/drs/v1/openapi.json",
            },
            "swagger_ui": {
                "htsget": f"{base}/htsget/ui/",
                "beacon": f"{base}/ga4gh/beacon/v2/ui/",
                "drs": f"{base}/ga4gh/drs/v1/ui/",
            },
            "igv_js": f"{base}/static/igv.min.js",
            "browser": f"{base}/browser/",
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
            "patients": str(files.patients),
        },
        "tokens": tokens,
        "token_file": str(token_file),
        "passport_jwks": f"{base}/passport/jwks",
        "igv": view,
        "igv_page": str(data_dir / "igv.html"),
        "export": f"export GDI_NODE_CONFIG={shlex.quote(str(config_file))}",
        "missing_tools": missing_tools(),
        "commands": [
            *node_commands(base, token_file, IDENTIFIERS[CONTROLLED_DATASET]),
            *htsget_commands(base, token_file, files.reference, ids),
            *drs_commands(base, gdi_node_program(), config_file, data_dir, ids),
            *beacon_commands(base, files, token_file),
        ],
    }
    (data_dir / "demo.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return PreparedDemo(settings, config_file, files, objects, facts)


def missing_tools() -> list[str]:
    """The command-line tools the printed htsget commands need that are not installed."""
    return [tool for tool in ("samtools", "bcftools") if shutil.which(tool) is None]


HTSGET_NOTE = (
    "htsget may send more than the region asked for (whole blocks, htsget 1.3); the commands"
    " that keep reads or variants by position show the region's own."
)


def print_demo(demo: PreparedDemo, *, serving: bool) -> None:
    """Tell a person what is there and what to type next."""
    facts = demo.facts
    click.echo(f"Frequency browser: {facts['urls']['browser']}")
    click.echo(f"gdi-node demo: {len(demo.objects)} files registered in {demo.config_file.parent}")
    for obj in facts["objects"]:
        click.echo(f"  {obj['format']:<4} {obj['dataset']:<16} {obj['drs_uri']}")
    click.echo(
        f"\nDemo passport for {CONTROLLED_DATASET} (valid 24 h, local issuer), saved in"
        f" {facts['token_file']}:"
    )
    click.echo(f"  {facts['tokens']['controlled']}")
    click.echo(f"\nigv.js page (open in a browser while the node runs): {facts['igv_page']}")
    click.echo(f"Facts for scripts: {demo.config_file.parent / 'demo.json'}")
    click.echo("gdi-node commands on the demo's database need its settings (or --config):")
    click.echo(f"  {facts['export']}")
    if facts["missing_tools"]:
        tools = " ".join(facts["missing_tools"])
        click.echo(
            f"\nThe htsget commands need {tools}, not installed here:"
            f" sudo apt-get install {tools} (Debian, Ubuntu) or brew install {tools} (macOS)"
        )
    click.echo(f"\nNote: {HTSGET_NOTE}")
    print_commands(facts["commands"], serving=serving)
    if serving:
        click.echo(f"\nServing on {facts['base_url']} (Ctrl-C to stop)\n")
