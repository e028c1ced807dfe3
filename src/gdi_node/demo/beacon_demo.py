"""The demo's Beacon: its synthetic cohort loaded into the allele-frequency database, and
Beacon v2 queries that work against it (printed by ``gdi-node demo``, run by its test)."""

from __future__ import annotations

import json
import shlex

import pysam

from gdi_node.beacon.ingest import VcfIngestor
from gdi_node.beacon.service import BASE_PATH
from gdi_node.bootstrap import migrated_sessions
from gdi_node.demo.synthetic import DemoFiles
from gdi_node.settings import Settings


def load_beacon(settings: Settings, files: DemoFiles, dataset_id: str) -> None:
    """Load the demo VCF with its sample sheet (idempotent, like every ingest)."""
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(files.vcf, dataset_id, sample_sheet=files.samples)


def beacon_commands(base: str, files: DemoFiles) -> list[dict[str, str]]:
    """curl commands for a sequence, a range, a record and a POST query on real variants."""
    with pysam.VariantFile(str(files.vcf)) as vcf:
        snvs = (
            (r.chrom, r.start, r.ref, r.alts[0])
            for r in vcf
            if r.ref is not None and r.alts and len(r.ref) == 1 and len(r.alts[0]) == 1
        )
        chrom, start, ref, alt = next(snvs)
    beacon = f"{base}{BASE_PATH}"
    variant_id = f"GRCh38:{chrom.removeprefix('chr')}:{start + 1}:{ref}:{alt}"
    body = {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {
            "requestParameters": {"referenceName": chrom, "start": [start], "end": [start + 5000]},
            "requestedGranularity": "count",
        },
    }
    return [
        {"what": "Beacon v2: what this Beacon serves", "run": f"curl -sf {beacon}/info"},
        {
            "what": f"Beacon: is {ref}>{alt} at {chrom}:{start + 1} seen? (sequence query)",
            "run": f"curl -sf '{beacon}/g_variants?referenceName={chrom}&start={start}"
            f"&alternateBases={alt}&requestedGranularity=count'",
        },
        {
            "what": "Beacon: its allele frequencies per population and cohort (record)",
            "run": f"curl -sf '{beacon}/g_variants/{variant_id}?requestedGranularity=record'",
        },
        {
            "what": "Beacon: how many variants in a 5 kb range (POST, count)",
            "run": "curl -sf -H 'Content-Type: application/json'"
            f" -d {shlex.quote(json.dumps(body))} {beacon}/g_variants",
        },
    ]
