"""Result sets at count and boolean granularity (decision record 0030): every entry-type answer
names the datasets it counted by the identifier the catalogue publishes, so the GDI portal can
join its catalogue on them (design note §0, §4); each result set's count is the one the summary
adds up, small counts stay bounds, and no count can be derived by subtracting two shown ones.

Two catalogued datasets, both counted for anonymous callers: OPEN (``GDI-XX-OPEN-1``) with 18
people with epilepsy and 7 controls, CTRL (``GDI-XX-CTRL-2``) with 2 people with epilepsy,
below the small-count threshold (5). Runs on SQLite and on PostgreSQL when configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rdflib import DCAT, DCTERMS, Graph, URIRef

from gdi_node.app import create_app
from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.demo.beacon_demo import epileptic_individual
from tests.api.test_beacon_api import beacon, passport, with_budget
from tests.support.catalogue import catalogued_datasets, catalogued_settings

EPILEPSY = "MONDO:0005027"
OPEN_PEOPLE, OPEN_CONTROLS, CTRL_PEOPLE = 18, 7, 2
THRESHOLD = 5
ENTRY_PATHS = ("/individuals", "/biosamples", "/runs", "/analyses")


def _records(prefix: str, patients: int, controls: int) -> dict[str, list[dict[str, Any]]]:
    """People with epilepsy then controls (no disease), each with a biosample, a run and an
    analysis."""
    people = [epileptic_individual(f"{prefix}-{n}", n, 10 + n) for n in range(1, patients + 1)]
    for n in range(patients + 1, patients + controls + 1):
        people.append({"id": f"{prefix}-{n}", "sex": {"id": "NCIT:C16576", "label": "female"}})
    ids = [str(p["id"]) for p in people]
    return {
        "individuals.json": people,
        "biosamples.json": [
            {
                "id": f"BS-{i}",
                "individualId": i,
                "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
                "sampleOriginType": {"id": "UBERON:0000178", "label": "blood"},
            }
            for i in ids
        ],
        "runs.json": [
            {"id": f"RUN-{i}", "biosampleId": f"BS-{i}", "individualId": i, "runDate": "2026-01-15"}
            for i in ids
        ],
        "analyses.json": [
            {
                "id": f"AN-{i}",
                "runId": f"RUN-{i}",
                "biosampleId": f"BS-{i}",
                "individualId": i,
                "analysisDate": "2026-02-01",
                "pipelineName": "dragen-4.2",
            }
            for i in ids
        ],
    }


def _load(settings: Settings, folder: Path, dataset: str, records: dict[str, Any]) -> None:
    folder.mkdir(parents=True)
    paths = []
    for name, items in records.items():
        path = folder / name
        path.write_text(json.dumps(items), encoding="utf-8")
        paths.append(path)
    with migrated_sessions(settings) as sessions:
        MetadataIngestor(sessions).ingest(paths, dataset)


def build_node(tmp: Path, database_url: str) -> Settings:
    """OPEN public, CTRL registered: both answered at count granularity to anonymous callers."""
    datasets = catalogued_datasets()
    datasets[1]["security_level"] = "REGISTERED"
    settings = catalogued_settings(tmp, "http://testserver", database_url).model_copy(
        update={"datasets": Settings.model_validate({"datasets": datasets}).datasets}
    )
    settings = with_budget(settings, units=10**6)
    _load(settings, tmp / "open", "OPEN", _records("IND", OPEN_PEOPLE, OPEN_CONTROLS))
    _load(settings, tmp / "ctrl", "CTRL", _records("C", CTRL_PEOPLE, 0))
    return settings


@contextmanager
def serving(tmp: Path, database_url: str) -> Iterator[tuple[Settings, Any]]:
    settings = build_node(tmp, database_url)
    with create_app(settings, validate_responses=True).test_client(
        client=("127.0.0.1", 40003)
    ) as client:
        yield settings, client


def catalogue_identifiers(client: Any) -> set[str]:
    """``dct:identifier`` of every dataset the catalogue lists, as a harvester reads them."""
    catalog = Graph().parse(data=client.get("/fdp/catalog/main").text, format="turtle")
    out = set()
    for iri in catalog.objects(None, DCAT.dataset):
        graph = Graph().parse(data=client.get(str(iri).removeprefix("http://testserver")).text)
        out |= {str(i) for i in graph.objects(URIRef(str(iri)), DCTERMS.identifier)}
    return out


def counted(client: Any, path: str, **kwargs: Any) -> dict[str, Any]:
    joiner = "&" if "?" in path else "?"
    query = "requestedGranularity=count&includeResultsetResponses=ALL"
    status, document = beacon(client, f"{path}{joiner}{query}", **kwargs)
    assert status == 200, document
    assert document["meta"]["returnedGranularity"] == "count"
    return document


def sets_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in document["response"]["resultSets"]}


def test_the_portal_join_finds_the_catalogued_dataset_an_anonymous_count_matches(
    tmp_path: Path, database_url: str
) -> None:
    """The portal's query: anonymous ``/individuals`` with filters at count granularity; it keeps
    a catalogued dataset whose identifier is a ``dataset`` result set with a count above 0."""
    with serving(tmp_path, database_url) as (_, client):
        catalogued = catalogue_identifiers(client)
        assert catalogued == {"GDI-XX-OPEN-1", "GDI-XX-CTRL-2"}
        document = counted(client, f"/individuals?filters={EPILEPSY}")
        kept = {
            s["id"]
            for s in document["response"]["resultSets"]
            if s["setType"] == "dataset" and s["resultsCount"] > 0
        }
        assert kept == {"GDI-XX-OPEN-1"}  # CTRL's two people: a scope too small (0013)
        assert kept <= catalogued
        found = sets_of(document)["GDI-XX-OPEN-1"]
        assert (found["resultsCount"], found["countPrecision"]) == (OPEN_PEOPLE, "exact")
        assert found["results"] == []


def test_every_entry_type_counts_per_dataset_under_the_small_count_rule(
    tmp_path: Path, database_url: str
) -> None:
    with serving(tmp_path, database_url) as (_, client):
        for path in ENTRY_PATHS:
            document = counted(client, path)
            sets = sets_of(document)
            assert sets["GDI-XX-OPEN-1"]["resultsCount"] == OPEN_PEOPLE + OPEN_CONTROLS
            small = sets["GDI-XX-CTRL-2"]
            assert small["exists"] is True
            assert small["resultsCount"] == THRESHOLD - 1  # "at most 4", never shown as 5
            assert (small["countPrecision"], small["countAdjustedTo"]) == (
                "imprecise",
                [THRESHOLD - 1],
            )
            summary = document["responseSummary"]
            assert summary["countPrecision"] == "imprecise"
            assert summary["countAdjustedTo"] == [THRESHOLD - 1]


def test_a_small_count_cannot_be_derived_by_subtracting_a_result_set_from_the_total(
    tmp_path: Path, database_url: str
) -> None:
    """The derivation: total exact 20, OPEN exact 18, so CTRL = 2. The total is the sum of
    the counts shown, so the difference is CTRL's bound, and the total is marked imprecise."""
    with serving(tmp_path, database_url) as (_, client):
        for path in (
            f"/individuals?filters={EPILEPSY}",
            "/individuals",
            "/datasets/CTRL/biosamples",
        ):
            document = counted(client, path)
            total = document["responseSummary"]["numTotalResults"]
            sets = sets_of(document)
            for name, shown in sets.items():
                derived = total - sum(s["resultsCount"] for n, s in sets.items() if n != name)
                assert derived == shown["resultsCount"], (path, name)
            small = [s for s in sets.values() if 0 < s["resultsCount"] < THRESHOLD]
            assert all(s["countPrecision"] == "imprecise" for s in small), path
            if small:
                assert document["responseSummary"]["countPrecision"] == "imprecise"
        everyone = counted(client, "/individuals")
        total = everyone["responseSummary"]["numTotalResults"]
        opened = sets_of(everyone)["GDI-XX-OPEN-1"]["resultsCount"]
        assert total - opened != CTRL_PEOPLE


def test_a_grant_sees_exact_counts_that_add_up(tmp_path: Path, database_url: str) -> None:
    with serving(tmp_path, database_url) as (settings, client):
        document = counted(client, "/individuals", headers=passport(settings, ["OPEN", "CTRL"]))
        sets = sets_of(document)
        assert sets["GDI-XX-CTRL-2"]["resultsCount"] == CTRL_PEOPLE
        assert sets["GDI-XX-CTRL-2"]["countPrecision"] == "exact"
        total = OPEN_PEOPLE + OPEN_CONTROLS + CTRL_PEOPLE
        assert document["responseSummary"] == {
            "exists": True,
            "numTotalResults": total,
            "countPrecision": "exact",
        }


def test_a_boolean_answer_names_its_datasets_and_reveals_no_count(
    tmp_path: Path, database_url: str
) -> None:
    """Boolean granularity (a bare request's): each result set's count says only ``exists``:
    an imprecise 1 ("at least one") or an exact 0."""
    with serving(tmp_path, database_url) as (_, client):
        for path in ENTRY_PATHS:
            status, document = beacon(client, f"{path}?includeResultsetResponses=ALL")
            assert status == 200
            assert document["meta"]["returnedGranularity"] == "boolean"
            assert "numTotalResults" not in document["responseSummary"]
            for shown in document["response"]["resultSets"]:
                assert shown["exists"] is True
                assert shown["results"] == []
                assert (shown["resultsCount"], shown["countPrecision"]) == (1, "imprecise")
                assert shown["countAdjustedTo"] == [1]
        status, document = beacon(
            client, "/datasets/CTRL/individuals?filters=NCIT:C20197&includeResultsetResponses=ALL"
        )
        assert status == 200
        assert [(s["exists"], s["resultsCount"]) for s in document["response"]["resultSets"]] == [
            (False, 0)
        ]


@pytest.mark.parametrize("granularity", ["boolean", "count"])
def test_result_sets_follow_include_resultset_responses(
    tmp_path: Path, database_url: str, granularity: str
) -> None:
    with serving(tmp_path, database_url) as (_, client):
        path = f"/individuals?filters={EPILEPSY}&requestedGranularity={granularity}"
        shown = {}
        for which in ("HIT", "MISS", "ALL", "NONE"):
            status, document = beacon(client, f"{path}&includeResultsetResponses={which}")
            assert status == 200
            shown[which] = sorted(s["id"] for s in document["response"]["resultSets"])
        assert shown == {
            "HIT": ["GDI-XX-OPEN-1"],
            "MISS": ["GDI-XX-CTRL-2"],
            "ALL": ["GDI-XX-CTRL-2", "GDI-XX-OPEN-1"],
            "NONE": [],
        }
