"""A VCF load is answered whole or not at all (decision record 0014), on SQLite and
PostgreSQL: its rows are written in short transactions under a callset that queries leave out
until one transaction shows it, together with its samples, and retires the callset it
replaces. Checked through the Beacon HTTP API (in-process) after every committed step of real
loads, and for a worker whose scopes were read just before a load wrote its first rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import beacon, loaded_node
from tests.support.beacon_data import write_vcf

# OPEN holds six alleles with carriers in [0, 10000) (tests.api.test_beacon_api.RECORDS)
RANGE = "/datasets/OPEN/g_variants?referenceName=22&start=0&end=100000&requestedGranularity=count"
MORE = ["M1", "M2", "M3"]


def _records(first: int, n: int, alt: str = "G") -> list[str]:
    return [
        f"chr22\t{first + 100 * i}\t.\tA\t{alt}\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1" for i in range(n)
    ]


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    return loaded_node(tmp_path, database_url)


@pytest.fixture
def client(node: Settings) -> Iterator[Any]:
    app = create_app(node, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def count(client: Any) -> int:
    status, document = beacon(client, RANGE)
    assert status == 200, document
    total: int = document["responseSummary"]["numTotalResults"]
    return total


def samples_in_scope(sessions: sessionmaker[Session]) -> int:
    """The samples of OPEN that answers count, as a fresh worker builds them."""
    with sessions() as session:
        return len(ScopeCache().get(session).datasets["OPEN"])


def carried(client: Any, position: int) -> bool:
    """Whether OPEN answers that the allele chr22:position A>G is there (1-based)."""
    query = f"referenceName=22&start={position - 1}&referenceBases=A&alternateBases=G"
    status, document = beacon(client, f"/datasets/OPEN/g_variants?{query}")
    assert status == 200, document
    exists: bool = document["responseSummary"]["exists"]
    return exists


def test_a_callset_being_loaded_is_in_no_answer_until_it_is_shown_whole(
    node: Settings, client: Any, tmp_path: Path
) -> None:
    assert count(client) == 6
    vcf = write_vcf(tmp_path / "more.vcf.gz", MORE, _records(20_000, 8))
    seen: list[tuple[int, bool, bool, int]] = []

    with migrated_sessions(node) as sessions:

        def after_each_step(_records: int, alleles: int) -> None:
            if alleles:  # a step is committed: nothing of it may show, nor its samples
                answered = (count(client), carried(client, 20_000), carried(client, 20_700))
                seen.append((*answered, samples_in_scope(sessions)))

        ingest = VcfIngestor(sessions, batch_size=1, progress=after_each_step).ingest
        assert ingest(vcf, "OPEN").alleles == 8
        assert samples_in_scope(sessions) == 13
    assert len(seen) == 9  # after each of the 8 steps, and once at the end
    assert set(seen) == {(6, False, False, 10)}
    assert count(client) == 14
    assert carried(client, 20_000)
    assert carried(client, 20_700)


def test_a_replacing_load_is_answered_from_the_old_callset_until_the_new_one_is_shown(
    node: Settings, client: Any, tmp_path: Path
) -> None:
    vcf = write_vcf(tmp_path / "more.vcf.gz", MORE, _records(20_000, 4))
    with migrated_sessions(node) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN")
    assert (count(client), carried(client, 20_000), carried(client, 50_000)) == (10, True, False)
    write_vcf(vcf, MORE, _records(50_000, 6))
    seen: list[tuple[int, bool, bool]] = []

    def after_each_step(_records: int, alleles: int) -> None:
        if alleles:
            seen.append((count(client), carried(client, 20_000), carried(client, 50_000)))

    with migrated_sessions(node) as sessions:
        ingest = VcfIngestor(sessions, batch_size=1, progress=after_each_step).ingest
        assert ingest(vcf, "OPEN", update=True).status == "replaced"
    assert set(seen) == {(10, True, False)}
    assert (count(client), carried(client, 20_000), carried(client, 50_000)) == (12, False, True)


def test_rows_a_load_writes_after_a_worker_read_the_generation_are_never_answered(
    node: Settings, client: Any, tmp_path: Path
) -> None:
    """The worker's scopes are current when it reads the generation; the load then creates
    its callset and commits a step before the worker reads the rows. Those rows are not in
    the answer: the generation read after them has moved, and the answer is redone."""
    assert not carried(client, 30_000)  # this worker's scopes are built
    vcf = write_vcf(tmp_path / "late.vcf.gz", MORE, _records(30_000, 2))
    stepped, finish = threading.Event(), threading.Event()
    injected: list[bool] = []

    def after_each_step(_records: int, alleles: int) -> None:
        if alleles == 1:
            stepped.set()
            assert finish.wait(60)

    def load() -> None:
        with migrated_sessions(node) as sessions:
            VcfIngestor(sessions, batch_size=1, progress=after_each_step).ingest(vcf, "OPEN")

    loader = threading.Thread(target=load)

    def before_rows(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        reads_rows = "FROM beacon_variants" in statement and "beacon_generation" not in statement
        if reads_rows and not injected and threading.current_thread() is not loader:
            injected.append(True)
            loader.start()
            assert stepped.wait(60)  # the first row is committed under a hidden callset

    event.listen(Engine, "before_cursor_execute", before_rows)
    try:
        assert not carried(client, 30_000)
    finally:
        event.remove(Engine, "before_cursor_execute", before_rows)
        finish.set()
        if injected:
            loader.join(60)
    assert injected
    assert carried(client, 30_000)  # shown once the load is done
