"""The Beacon query budget: answers revealing rare alleles cost more, an exhausted budget is a
429 in the Beacon error shape with Retry-After, budgets are per principal and shared by the
workers through the database; granted callers pay nothing for their datasets' alleles."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.store.budget import BudgetExhaustedError, QueryBudget
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import QueryBudgetSettings, Settings
from tests.api.test_beacon_api import BEACON, passport, with_budget
from tests.support.beacon_data import write_vcf
from tests.support.beacon_spec import assert_valid_response
from tests.support.htsget_setup import node_settings

SAMPLES = [f"S{n}" for n in range(1, 21)]
RECORDS = [
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 15 + ["0/0"] * 5),  # common
    "chr22\t200\trs200\tC\tT\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] + ["0/0"] * 19),  # rare
]
COMMON = "/g_variants?referenceName=22&start=99&alternateBases=G"
RARE = "/g_variants?referenceName=22&start=199&alternateBases=T"
MISS = "/g_variants?referenceName=22&start=299&alternateBases=T"


@pytest.fixture
def node(tmp_path: Path) -> Settings:
    settings = with_budget(node_settings(tmp_path, "http://testserver"), units=50, rare_cost=20)
    vcf = write_vcf(tmp_path / "few.vcf.gz", SAMPLES, RECORDS)
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN")
    return settings


@pytest.fixture
def clients(node: Settings) -> Iterator[tuple[Any, Any]]:
    """Two apps (as two workers) on one database, the caller on the same address."""
    with (
        create_app(node, validate_responses=True).test_client(client=("10.0.0.7", 1)) as one,
        create_app(node, validate_responses=True).test_client(client=("10.0.0.7", 2)) as two,
    ):
        yield one, two


def status(client: Any, path: str, **kwargs: Any) -> int:
    response = client.get(BEACON + path, **kwargs)
    if response.status_code == 429:
        assert_valid_response(response.json(), "error")
    return int(response.status_code)


def test_rare_answers_cost_more_and_an_exhausted_budget_is_a_429(clients: tuple[Any, Any]) -> None:
    one, _ = clients
    # 1 + 20 per rare hit: two rare lookups (42) then commons (1 each) until 50 is reached
    assert [status(one, RARE), status(one, RARE)] == [200, 200]
    assert [status(one, COMMON) for _ in range(8)] == [200] * 8
    response = one.get(BEACON + MISS)
    assert response.status_code == 429
    body = response.json()
    assert body["error"]["errorCode"] == 429
    assert "query budget exhausted: 50 of 50" in body["error"]["errorMessage"]
    assert int(response.headers["Retry-After"]) > 0
    assert status(one, "/info") == 200  # only queries about variants are priced


def test_a_dbsnp_id_lookup_costs_what_the_allele_lookup_costs(clients: tuple[Any, Any]) -> None:
    one, _ = clients
    # naming the rare allele by its dbSNP id reveals it as naming it by position does, even
    # where the answer lists no record (boolean): 1 + 20 each, then commons up to 50
    by_id = "/g_variants?variantAlternativeId=rs200&requestedGranularity=boolean"
    assert [status(one, by_id), status(one, by_id)] == [200, 200]
    assert [status(one, COMMON) for _ in range(8)] == [200] * 8
    assert status(one, COMMON) == 429


def test_budgets_are_per_principal_and_shared_by_workers(
    clients: tuple[Any, Any], node: Settings
) -> None:
    one, two = clients
    assert [status(one, RARE), status(one, RARE)] == [200, 200]  # 42 units through one worker
    time.sleep(1.1)  # a worker adds its spending to the table at most once a second
    assert status(one, COMMON) == 200  # 43, now in the table
    assert [status(two, COMMON) for _ in range(7)] == [200] * 7  # the other worker sees it: 50
    assert status(two, COMMON) == 429
    assert status(one, COMMON, headers=passport(node, [], registered=True)) == 200


def test_granted_callers_pay_no_rare_cost_for_their_datasets(
    clients: tuple[Any, Any], node: Settings
) -> None:
    one, _ = clients
    granted = passport(node, ["OPEN"])
    assert [status(one, RARE, headers=granted) for _ in range(50)] == [200] * 50
    assert status(one, RARE, headers=granted) == 429  # the base cost still counts


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def test_windows_renew_and_workers_add_up(sessions: sessionmaker[Session]) -> None:
    now = [1_000_000.0]
    config = QueryBudgetSettings(units=10, window_seconds=3600)
    first = QueryBudget(sessions, config, clock=lambda: now[0], flush_seconds=0)
    second = QueryBudget(sessions, config, clock=lambda: now[0], flush_seconds=0)
    first.spend("alice", 6)
    second.check("alice")
    second.spend("alice", 4)
    with pytest.raises(BudgetExhaustedError, match="10 of 10"):
        first.check("alice")
    first.check("bob")
    now[0] += 3600  # the next window
    first.check("alice")
    second.check("alice")
