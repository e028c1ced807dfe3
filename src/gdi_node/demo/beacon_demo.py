"""The demo's Beacon: both joint-called VCFs loaded into the allele-frequency database with their
sample sheets, the patients' individual and biosample records, the sample sheets' cohorts as
cohort records, and Beacon v2 queries that show what a passport changes (printed by
``gdi-node demo``, run and checked by its test).

``demo-public`` (PUBLIC) holds 8 reference samples: anyone sees their frequencies, with small
counts as upper bounds and no breakdown by sex (beacon/README.md "What each caller sees",
decision records 0017 and 0020). ``demo-controlled`` (CONTROLLED) holds 20 patients with their
phenotypes: an anonymous caller learns only whether it has a variant or a phenotype (the
default disclosure of a controlled dataset), the demo passport's holder sees exact counts, the
breakdown by sex and country, and the individuals' records. Result sets name the datasets by
their public identifiers, ``GDI-XX-DEMO-1`` and ``GDI-XX-DEMO-2`` (decision record 0026).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam

from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.queries.service import BASE_PATH
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.demo.synthetic import DemoFiles

SEIZURE = "HP:0001250"  # HPO "Seizure": patient 4 has the term, patients 1-3 and 5-12 descendants
FOCAL_SEIZURE = {"id": "HP:0007359", "label": "Focal-onset seizure"}  # below Seizure
EPILEPSY_PATIENTS = 12  # DEMO-P01..P12 (the sample sheet's cohort "epilepsy"); the rest controls


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


def _patient(individual_id: str, n: int) -> dict[str, Any]:
    """Patients 1-12 have epilepsy and a seizure term (so that a seizure query's scope is large
    enough to be answered anonymously, decision record 0013); the others are controls."""
    if n > EPILEPSY_PATIENTS:
        female = {"id": "NCIT:C16576", "label": "female"}
        return {
            "id": individual_id,
            "sex": female if n % 2 else {"id": "NCIT:C20197", "label": "male"},
        }
    record = epileptic_individual(individual_id, n, 5 * n)
    record.setdefault("phenotypicFeatures", [{"featureType": FOCAL_SEIZURE}])
    return record


def _cohorts(sheet: Path) -> list[dict[str, Any]]:
    """Cohort records (Beacon v2 ``cohort``) of the cohorts a sample sheet names."""
    lines = sheet.read_text(encoding="utf-8").splitlines()
    column = lines[0].split("\t").index("cohorts")
    names = sorted({c for line in lines[1:] for c in line.split("\t")[column].split(",") if c})
    return [{"id": name, "name": f"Demo {name}", "cohortType": "study-defined"} for name in names]


def _write(folder: Path, records: dict[str, list[dict[str, Any]]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in records.items():
        path = folder / name
        path.write_text(json.dumps(content, indent=1), encoding="utf-8")
        paths.append(path)
    return paths


def write_metadata(folder: Path, files: DemoFiles) -> tuple[list[Path], list[Path]]:
    """Synthetic Beacon Friendly Format records: the public samples' cohorts; the patients'
    individuals (epilepsy for the first 12), biosamples and cohorts."""
    patients = files.patient_ids
    people = [_patient(pid, n) for n, pid in enumerate(patients, start=1)]
    biosamples = [
        {
            "id": f"{pid}-B",
            "individualId": pid,
            "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
            "sampleOriginType": {"id": "UBERON:0000178", "label": "blood"},
        }
        for pid in patients
    ]
    public = _write(folder / "public", {"cohorts.json": _cohorts(files.samples)})
    controlled = _write(
        folder / "controlled",
        {
            "individuals.json": people,
            "biosamples.json": biosamples,
            "cohorts.json": _cohorts(files.patients),
        },
    )
    return public, controlled


def load_beacon(settings: Settings, files: DemoFiles, public: str, controlled: str) -> None:
    """Load each dataset's multi-sample VCF with its sample sheet, and its records
    (idempotent, like every ingest)."""
    public_records, controlled_records = write_metadata(
        files.samples.parent / "beacon-metadata", files
    )
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(files.vcf, public, sample_sheet=files.samples)
        VcfIngestor(sessions).ingest(files.patients_vcf, controlled, sample_sheet=files.patients)
        MetadataIngestor(sessions).ingest(public_records, public)
        MetadataIngestor(sessions).ingest(controlled_records, controlled)


@dataclass(frozen=True)
class ShownVariant:
    """The SNV the printed queries ask about: rare in both datasets (1-4 ALT alleles each), so
    an anonymous caller sees an upper bound where the passport's holder sees the count."""

    chrom: str
    start: int  # 0-based
    ref: str
    alt: str

    @property
    def variant_id(self) -> str:
        return f"GRCh38:{self.chrom.removeprefix('chr')}:{self.start + 1}:{self.ref}:{self.alt}"


def _alt_counts(path: Path) -> dict[tuple[str, int, str, str], int]:
    with pysam.VariantFile(str(path)) as vcf:
        return {
            (r.chrom, r.start, r.ref, r.alts[0]): int(r.info["AC"][0])
            for r in vcf
            if r.ref is not None and r.alts and len(r.alleles or ()) == 2
            if len(r.ref) == 1 and len(r.alts[0]) == 1
        }


def shown_variant(files: DemoFiles) -> ShownVariant:
    public, patients = _alt_counts(files.vcf), _alt_counts(files.patients_vcf)
    for key, count in public.items():
        if 1 <= count <= 4 and 1 <= patients.get(key, 0) <= 4:
            return ShownVariant(*key)
    raise RuntimeError("the demo data has no SNV that is rare in both datasets")


def beacon_commands(base: str, files: DemoFiles, token_file: Path) -> list[dict[str, str]]:
    """curl commands: what the Beacon serves; one variant's frequencies and the individuals
    with a seizure, anonymously and with the demo passport; a sequence and a range query; the
    cohorts."""
    shown = shown_variant(files)
    beacon = f"{base}{BASE_PATH}"
    bearer = f'-H "Authorization: Bearer $(cat {shlex.quote(str(token_file))})"'
    record = f"'{beacon}/g_variants/{shown.variant_id}?requestedGranularity=record'"
    seizures = f"'{beacon}/individuals?filters={SEIZURE}&requestedGranularity=record'"
    body = {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {
            "requestParameters": {
                "referenceName": shown.chrom,
                "start": [shown.start],
                "end": [shown.start + 5000],
            },
            "requestedGranularity": "count",
        },
    }
    return [
        {
            "id": "beacon-info",
            "what": "Beacon v2: what this Beacon serves",
            "run": f"curl -sf {beacon}/info",
        },
        {
            "id": "beacon-frequencies-anonymous",
            "what": f"Beacon, anonymous: frequencies of {shown.variant_id}; demo-public's"
            " (result set GDI-XX-DEMO-1) small counts are upper bounds (at most 4) without a"
            " breakdown by sex, demo-controlled (GDI-XX-DEMO-2) says only that it has the variant",
            "run": f"curl -sf {record}",
        },
        {
            "id": "beacon-frequencies-passport",
            "what": "Beacon, with the demo passport: demo-controlled's exact counts, by sex and"
            " country too",
            "run": f"curl -sf {bearer} {record}",
        },
        {
            "id": "beacon-individuals-anonymous",
            "what": f"Beacon, anonymous: anyone with a seizure ({SEIZURE}, descendants included)?"
            " Yes or no only (12 patients match, 8 do not: enough for an anonymous answer)",
            "run": f"curl -sf {seizures}",
        },
        {
            "id": "beacon-individuals-passport",
            "what": "Beacon, with the demo passport: the records of the 12 individuals with a"
            " seizure"
            " (10 a page)",
            "run": f"curl -sf {bearer} {seizures}",
        },
        {
            "id": "beacon-sequence",
            "what": f"Beacon: is {shown.ref}>{shown.alt} at {shown.chrom}:{shown.start + 1} seen?"
            " (sequence query, count: 1 in demo-public, 'at least one' in demo-controlled)",
            "run": f"curl -sf '{beacon}/g_variants?referenceName={shown.chrom}&start={shown.start}"
            f"&alternateBases={shown.alt}&requestedGranularity=count'",
        },
        {
            "id": "beacon-range",
            "what": "Beacon: how many variants in a 5 kb range (POST, count: demo-public's exact,"
            " plus 1 for demo-controlled's 'at least one')",
            "run": "curl -sf -H 'Content-Type: application/json'"
            f" -d {shlex.quote(json.dumps(body))} {beacon}/g_variants",
        },
        {
            "id": "beacon-cohorts",
            "what": "Beacon: the cohorts of both datasets (named in their sample sheets)",
            "run": f"curl -sf '{beacon}/cohorts?requestedGranularity=record'",
        },
    ]
