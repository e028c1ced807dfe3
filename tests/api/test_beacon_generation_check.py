"""A count the database makes reads the Beacon generation in its own statement
(gdi_node.beacon.store.generation.with_generation): a worker answers it from the scopes it built
last in one SQL statement, and redoes it from fresh scopes when any process changed the
Beacon data in between, so an opt-out still takes effect at the next query. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gdi_node.app import create_app
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.queries import scopes as scopes_module
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import beacon, loaded_node

# OPEN holds six alleles with carriers in [0, 10000); only S1 (IND-1) carries the one at 200
RANGE = "/datasets/OPEN/g_variants?referenceName=22&start=0&end=10000&requestedGranularity=count"


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    return loaded_node(tmp_path, database_url)


@pytest.fixture
def client(node: Settings) -> Iterator[Any]:
    with create_app(node, validate_responses=True).test_client() as test_client:
        yield test_client


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run meanwhile (the audit trail writes from its own thread)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "audit" not in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def count(client: Any) -> int:
    status, document = beacon(client, RANGE)
    assert status == 200, document
    total: int = document["responseSummary"]["numTotalResults"]
    return total


def test_a_range_count_on_current_scopes_is_one_statement_that_reads_the_generation(
    client: Any,
) -> None:
    assert count(client) == 6  # builds this worker's scopes
    with statements() as seen:
        assert count(client) == 6
    budget = [s for s in seen if "beacon_query_budget" in s]  # flushed once a second at most
    counted = [s for s in seen if s not in budget]
    assert len(counted) == 1, counted
    assert "beacon_generation" in counted[0]
    assert "beacon_variant" in counted[0]
    # a range where nothing is found still reads the generation in its one statement
    nothing = RANGE.replace("start=0&end=10000", "start=5&end=10")
    with statements() as seen:
        _status, document = beacon(client, nothing)
    assert document["responseSummary"]["numTotalResults"] == 0
    counted = [s for s in seen if "beacon_query_budget" not in s]
    assert len(counted) == 1, counted
    assert "beacon_generation" in counted[0]


def test_a_count_from_outdated_scopes_is_redone_when_another_process_changed_the_data(
    client: Any, node: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert count(client) == 6
    built: list[int] = []
    build = scopes_module._build

    def counted_build(session: Any, generation: int) -> Any:
        built.append(generation)
        return build(session, generation)

    monkeypatch.setattr(scopes_module, "_build", counted_build)
    with migrated_sessions(node) as sessions:  # as `gdi-node consent` would, elsewhere
        ConsentRegistry(sessions).opt_out(["IND-1"], "withdrew consent")
    # the cached scopes still count IND-1; the count's own statement sees the new generation
    assert count(client) == 5
    assert len(built) == 1
    assert count(client) == 5
    assert len(built) == 1  # current again: no rebuild, no second try
    with migrated_sessions(node) as sessions:
        ConsentRegistry(sessions).opt_in(["IND-1"])
    assert count(client) == 6
    assert len(built) == 2
