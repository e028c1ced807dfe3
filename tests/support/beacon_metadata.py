"""A small, schema-valid Beacon metadata set for tests: ten individuals (IND-1..IND-10) with
one biosample (BS-n), run (RUN-n) and analysis (AN-n) each, a cohort, a dataset record, and
one extra individual (IND-11) as a Phenopacket v2.

- IND-1..3 have a bilateral tonic-clonic seizure (HP:0002069, below Seizure HP:0001250), IND-4
  and IND-11 a seizure (HP:0001250); IND-5 states seizures are absent (``excluded``).
- Disease onset of IND-n is at n*10 years; platelets (LOINC:26515-7) n*50.
- RUN-1..8 are WGS, RUN-9 and RUN-10 WES.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gdi_node.demo.beacon_demo import epileptic_individual

SEIZURE = "HP:0001250"
TONIC_CLONIC = "HP:0002069"
BLOOD = {"id": "UBERON:0000178", "label": "blood"}


def _individual(n: int) -> dict[str, Any]:
    record = epileptic_individual(f"IND-{n}", n, n * 10)
    record["diseases"][0]["notes"] = "seizure onset recorded" if n == 1 else "routine entry"
    record["measures"] = [
        {
            "assayCode": {"id": "LOINC:26515-7", "label": "Platelets [#/volume] in Blood"},
            "measurementValue": {
                "value": n * 50,
                "unit": {"id": "NCIT:C67245", "label": "Thousand Cells"},
            },
        }
    ]
    if n == 5:
        feature = {"featureType": {"id": SEIZURE, "label": "Seizure"}, "excluded": True}
        record["phenotypicFeatures"] = [feature]
    return record


def _phenopacket() -> dict[str, Any]:
    return {
        "id": "PP-11",
        "subject": {"id": "IND-11", "sex": "MALE"},
        "phenotypicFeatures": [{"type": {"id": SEIZURE, "label": "Seizure"}}],
        "biosamples": [
            {
                "id": "BS-11",
                "sampledTissue": BLOOD,
                "materialSample": {"id": "EFO:0009654", "label": "reference sample"},
                "timeOfCollection": {"age": {"iso8601duration": "P41Y"}},
            }
        ],
        "metaData": {"created": "2026-11-22T00:00:00Z", "createdBy": "tests"},
    }


def write_metadata(folder: Path) -> list[Path]:
    """The set as BFF files plus one phenopacket file, in a loadable order."""
    folder.mkdir(parents=True, exist_ok=True)
    ns = range(1, 11)
    files: dict[str, Any] = {
        "individuals.json": [_individual(n) for n in ns],
        "biosamples.json": [
            {
                "id": f"BS-{n}",
                "individualId": f"IND-{n}",
                "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
                "sampleOriginType": BLOOD,
                "collectionMoment": f"P{n * 10 + 1}Y",
            }
            for n in ns
        ],
        "runs.json": [
            {
                "id": f"RUN-{n}",
                "biosampleId": f"BS-{n}",
                "individualId": f"IND-{n}",
                "runDate": "2026-01-15",
                "libraryStrategy": "WGS" if n <= 8 else "WES",
                "platform": "Illumina",
            }
            for n in ns
        ],
        "analyses.json": [
            {
                "id": f"AN-{n}",
                "runId": f"RUN-{n}",
                "biosampleId": f"BS-{n}",
                "individualId": f"IND-{n}",
                "analysisDate": "2026-02-01",
                "pipelineName": "dragen-4.2",
                "variantCaller": "DRAGEN",
            }
            for n in ns
        ],
        "cohorts.json": [{"id": "trio", "name": "Trio", "cohortType": "study-defined"}],
        "datasets.json": [
            {
                "id": "OPEN",
                "name": "Open epilepsy cohort",
                "description": "Synthetic individuals for the tests",
                "dataUseConditions": {
                    "duoDataUse": [
                        {"id": "DUO:0000042", "label": "general research use", "version": "1"}
                    ]
                },
            }
        ],
        "phenopackets.json": [_phenopacket()],
    }
    paths = []
    for name, records in files.items():
        path = folder / name
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
        paths.append(path)
    return paths


def sample_sheet(path: Path) -> Path:
    """S1..S10 are IND-1..IND-10 (biosample BS-n); S1..S3 form the cohort ``trio``."""
    path.write_text(
        "sample\tindividual_id\tbiosample_id\tpopulation\tcohorts\n"
        + "".join(
            f"S{n}\tIND-{n}\tBS-{n}\tEUR\t{'trio' if n <= 3 else ''}\n" for n in range(1, 11)
        ),
        encoding="utf-8",
    )
    return path
