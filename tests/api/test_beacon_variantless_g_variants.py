"""``/g_variants`` without variant parameters, as the Beacon Verifier v2 and the ELIXIR Beacon
Network send it (issue 19, design note §4): a result-sets response at boolean granularity, one
result set per dataset the caller may see, each saying whether the dataset holds any variant,
answered without counting or reading the matching rows, through the privacy gate like every
Beacon answer; malformed parameters stay a 400. On SQLite and PostgreSQL; every response is
validated by connexion and against the Beacon v2.1.1 schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.store.variant_rows import VariantRepository
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import beacon, with_budget
from tests.api.test_beacon_privacy_gate import audited, charged
from tests.support.beacon_data import write_vcf
from tests.support.htsget_setup import node_settings

SAMPLES = [f"S{n}" for n in range(1, 11)]
# OPEN: one common allele and one carried by S1 only; CTRL: one allele carried by C1
OPEN_RECORDS = [
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 6 + ["0/0"] * 4),
    "chr22\t200\t.\tC\tT\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] + ["0/0"] * 9),
]


def sheet(path: Path) -> Path:
    """S1..S10 are IND-1..IND-10; the carriers S1..S6 were born in DK, S7..S10 in SE."""
    rows = [f"S{n}\tIND-{n}\t{'DK' if n <= 6 else 'SE'}\n" for n in range(1, 11)]
    path.write_text("sample\tindividual_id\tcountry\n" + "".join(rows), encoding="utf-8")
    return path


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    settings = with_budget(
        node_settings(tmp_path, "http://testserver", database_url),
        units=10**6,
        base_cost=1,
        rare_cost=0,
    )
    with migrated_sessions(settings) as sessions:
        vcf = write_vcf(tmp_path / "open.vcf.gz", SAMPLES, OPEN_RECORDS)
        VcfIngestor(sessions).ingest(vcf, "OPEN", sample_sheet=sheet(tmp_path / "s.tsv"))
        controlled = write_vcf(
            tmp_path / "ctrl.vcf.gz",
            ["C1", "C2"],
            ["chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0"],
        )
        VcfIngestor(sessions).ingest(controlled, "CTRL")
    return settings


@pytest.fixture
def client(node: Settings) -> Iterator[Any]:
    with create_app(node, validate_responses=True).test_client(client=("127.0.0.1", 40003)) as c:
        yield c


def _never(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise AssertionError("a variant-less g_variants answer counts or reads matching rows")


@pytest.fixture
def no_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every path of VariantRepository that counts alleles or reads the rows of a query fails
    the test (the presence probe reads neither)."""
    for name in ("find", "count_alleles", "allele_page", "rows_of", "by_allele", "full_rows"):
        monkeypatch.setattr(VariantRepository, name, _never)


def result_sets(document: dict[str, Any]) -> dict[str, bool]:
    return {s["id"]: s["exists"] for s in document["response"]["resultSets"]}


@pytest.mark.usefixtures("no_counting")
def test_a_bare_get_answers_each_visible_dataset_at_boolean_granularity(client: Any) -> None:
    status, document = beacon(client, "/g_variants")
    assert status == 200, document
    assert document["meta"]["returnedGranularity"] == "boolean"
    assert document["responseSummary"] == {"exists": True}
    assert result_sets(document) == {"OPEN": True, "CTRL": True}
    for result_set in document["response"]["resultSets"]:
        assert result_set["setType"] == "dataset"
        assert result_set["results"] == []
        assert result_set["info"] == {"returnedGranularity": "boolean"}
        assert (result_set["resultsCount"], result_set["countPrecision"]) == (1, "imprecise")


@pytest.mark.usefixtures("no_counting")
def test_a_post_without_request_parameters_gets_the_same_answer(client: Any) -> None:
    bodies: list[dict[str, Any]] = [
        {"meta": {"apiVersion": "2.0"}, "query": {}},
        {"meta": {"apiVersion": "2.0"}, "query": {"requestParameters": {}}},
        {},
    ]
    _, bare = beacon(client, "/g_variants")
    for body in bodies:
        status, document = beacon(client, "/g_variants", body)
        assert status == 200, (body, document)
        assert document["response"] == bare["response"]


@pytest.mark.usefixtures("no_counting")
def test_a_variantless_answer_never_rises_above_boolean_whatever_is_asked(client: Any) -> None:
    for granularity in ("count", "record"):
        _, document = beacon(client, f"/g_variants?requestedGranularity={granularity}")
        assert document["meta"]["returnedGranularity"] == "boolean"
        assert document["meta"]["receivedRequestSummary"]["requestedGranularity"] == granularity
        assert "numTotalResults" not in document["responseSummary"]


@pytest.mark.usefixtures("no_counting")
def test_below_a_dataset_only_that_dataset_is_answered(client: Any) -> None:
    _, document = beacon(client, "/datasets/OPEN/g_variants")
    assert result_sets(document) == {"OPEN": True}
    status, _ = beacon(client, "/datasets/NOPE/g_variants")
    assert status == 404


def test_a_dataset_whose_carriers_all_opted_out_holds_no_variant(
    client: Any, node: Settings
) -> None:
    with migrated_sessions(node) as sessions:
        # S1..S6 carry the common allele, S1 the rare one: nobody left carries either
        ConsentRegistry(sessions).opt_out([f"IND-{n}" for n in range(1, 7)], "withdrew")
    _, document = beacon(client, "/g_variants")
    assert result_sets(document) == {"OPEN": False, "CTRL": True}
    opted_out = next(s for s in document["response"]["resultSets"] if s["id"] == "OPEN")
    assert (opted_out["resultsCount"], opted_out["countPrecision"]) == (0, "exact")
    with migrated_sessions(node) as sessions:
        ConsentRegistry(sessions).opt_in(["IND-6"])
    assert result_sets(beacon(client, "/g_variants")[1])["OPEN"] is True


def test_the_variantless_answer_passes_the_gate_audited_and_charged_once(
    client: Any, node: Settings
) -> None:
    response = client.get("/ga4gh/beacon/v2/g_variants", headers={"X-Request-ID": "bare-1"})
    assert response.status_code == 200
    client.app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush(timeout=30)
    assert audited(node)["bare-1"] == ["CTRL", "OPEN"]
    assert charged(node) == {"address:127.0.0.1": 1}


def test_malformed_parameters_are_still_a_400(client: Any) -> None:
    cases = [
        "/g_variants?referenceName=22",
        "/g_variants?alternateBases=G",
        "/g_variants?requestedGranularity=everything",
        "/g_variants?includeResultsetResponses=SOME",
        "/g_variants?filters=XYZ:0001250",
        "/individuals/IND-1/g_variants",
    ]
    for path in cases:
        status, document = beacon(client, path)
        assert status == 400, (path, document)
        assert "\n" not in document["error"]["errorMessage"]
    body = {"query": {"requestParameters": {"chromosome": "22"}}}
    assert beacon(client, "/g_variants", body)[0] == 400


@pytest.mark.usefixtures("no_counting")
def test_population_filters_narrow_a_variantless_answer_to_that_population(client: Any) -> None:
    def asked(value: str) -> dict[str, bool]:
        country = {"id": "countryFilter", "operator": "=", "value": value, "scope": "population"}
        status, document = beacon(client, "/g_variants", {"query": {"filters": [country]}})
        assert status == 200, document
        return result_sets(document)

    assert asked("DK") == {"OPEN": True, "CTRL": False}
    assert asked("SE") == {"OPEN": False, "CTRL": False}  # nobody born in SE carries one
    assert asked("Denmark") == {"OPEN": False, "CTRL": False}
