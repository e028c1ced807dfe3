"""The demo's Beacon: its synthetic cohort loaded into the allele-frequency database, and
Beacon v2 queries that work against it (printed by ``gdi-node demo``, run by its test)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pysam

from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.queries.service import BASE_PATH
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.demo.synthetic import DemoFiles

SEIZURE = "HP:0001250"  # HPO "Seizure"; DEMO-I1..I3 have a descendant term, DEMO-I4 the term


def epileptic_individual(individual_id: str, n: int, onset_years: int) -> dict[str, Any]:
    """A synthetic individual record: female when ``n`` is odd, epilepsy from ``onset_years``,
    a bilateral tonic-clonic seizure (below HPO Seizure) for n <= 3, Seizure itself for n = 4."""
    record: dict[str, Any] = {
        "id": individual_id,
        "sex": (
            {"id": "NCIT:C16576", "label": "female"}
            if n % 2
            else {"id": "NCIT:C20197", "label": "male"}
        ),
        "diseases": [
            {
                "diseaseCode": {"id": "MONDO:0005027", "label": "epilepsy"},
                "ageOfOnset": {"iso8601duration": f"P{onset_years}Y"},
            }
        ],
    }
    if n <= 3:
        term = {"id": "HP:0002069", "label": "Bilateral tonic-clonic seizure"}
        record["phenotypicFeatures"] = [{"featureType": term}]
    elif n == 4:
        record["phenotypicFeatures"] = [{"featureType": {"id": SEIZURE, "label": "Seizure"}}]
    return record


def write_metadata(folder: Path, count: int) -> list[Path]:
    """Synthetic Beacon Friendly Format records of the demo's individuals and biosamples."""
    folder.mkdir(parents=True, exist_ok=True)
    biosamples = [
        {
            "id": f"DEMO-I{n}-B",
            "individualId": f"DEMO-I{n}",
            "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
            "sampleOriginType": {"id": "UBERON:0000178", "label": "blood"},
        }
        for n in range(1, count + 1)
    ]
    paths = [folder / "individuals.json", folder / "biosamples.json"]
    people = [epileptic_individual(f"DEMO-I{n}", n, 5 * n) for n in range(1, count + 1)]
    contents = [people, biosamples]
    for path, records in zip(paths, contents, strict=True):
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return paths


def load_beacon(settings: Settings, files: DemoFiles, dataset_id: str) -> None:
    """Load the demo VCF with its sample sheet, and its individuals' and biosamples' records
    (idempotent, like every ingest)."""
    metadata = write_metadata(files.samples.parent / "beacon-metadata", len(files.sample_ids))
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(files.vcf, dataset_id, sample_sheet=files.samples)
        MetadataIngestor(sessions).ingest(metadata, dataset_id)


def beacon_commands(base: str, files: DemoFiles) -> list[dict[str, str]]:
    """curl commands for a sequence, a range, a record and a POST query on real variants, and
    a filtered query over the individuals' phenotypes (HPO descendants included)."""
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
