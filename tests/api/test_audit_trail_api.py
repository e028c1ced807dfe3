"""The audit trail seen from the API (issue #15 items 1 and 8, decision record 0015): a stuck
writer makes the node not ready and shows in the metrics; a Beacon answer that discloses
records of a controlled dataset leaves only once its decision is committed. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine
from gdi_node.db.models import AuditRecord
from gdi_node.passport.local_issuer import LocalIssuer
from tests.support.beacon_data import write_vcf
from tests.support.htsget_setup import node_settings

BEACON = "/ga4gh/beacon/v2"
RECORD_QUERY = "/g_variants?referenceName=22&start=99&alternateBases=G&requestedGranularity=record"


def audited_node(tmp_path: Path, database_url: str, **audit: float) -> Settings:
    settings = node_settings(tmp_path, "http://testserver", database_url)
    settings = settings.model_copy(update={"audit": settings.audit.model_copy(update=audit)})
    vcf = write_vcf(tmp_path / "ctrl.vcf.gz", ["C1", "C2"], [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0",
    ])  # fmt: skip
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "CTRL")
    return settings


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def audit_rows(engine: Engine, request_id: str) -> int:
    with engine.connect() as connection:
        query = select(func.count()).where(AuditRecord.request_id == request_id)
        return int(connection.scalar(query) or 0)


def test_a_beacon_record_answer_on_controlled_data_leaves_after_its_decision_is_committed(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    # Batches every 10 s: only a durable write can put the row there before the answer.
    settings = audited_node(tmp_path, database_url, batch_seconds=10)
    token = LocalIssuer.for_settings(settings).passport(settings, "beacon-user", ["CTRL"])
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as client:
        granted = client.get(
            BEACON + RECORD_QUERY,
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "rec-1"},
        )
        assert granted.status_code == 200, granted.text
        sets = {s["id"]: s for s in granted.json()["response"]["resultSets"]}
        assert sets["CTRL"]["results"], "the caller got records"
        assert audit_rows(engine, "rec-1") == 2  # both datasets' decisions, committed
        counted = client.get(
            BEACON + RECORD_QUERY.replace("record", "count"), headers={"X-Request-ID": "cnt-1"}
        )
        assert counted.status_code == 200
        assert audit_rows(engine, "cnt-1") == 0  # aggregates stay batched


def test_a_stuck_audit_writer_makes_the_node_not_ready_and_shows_in_the_metrics(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    settings = audited_node(tmp_path, database_url, batch_seconds=0.05, stuck_after_seconds=0.2)
    app = create_app(settings)
    runtime = app.app.config["GDI_NODE_RUNTIME"]
    with app.test_client() as client:
        assert client.get("/ready").status_code == 200
        assert "gdi_node_audit_stuck 0.0" in client.get("/metrics").text
        with engine.begin() as connection:  # the writer's table goes away under it
            connection.execute(text("ALTER TABLE audit_records RENAME TO audit_records_away"))
        try:
            assert (
                client.get(
                    BEACON + "/g_variants?referenceName=22&start=99&alternateBases=G"
                ).status_code
                == 200
            )
            wait_until(lambda: runtime.authorization.audit.health().stuck)
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["audit"] == "failed"
            metrics = client.get("/metrics").text
            assert "gdi_node_audit_stuck 1.0" in metrics
            assert "gdi_node_audit_pending_events 2.0" in metrics
            assert metric(metrics, "gdi_node_audit_write_failures_total") >= 1
        finally:
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_records_away RENAME TO audit_records"))
        runtime.authorization.audit.flush(timeout=30)
        assert client.get("/ready").status_code == 200


def metric(exposition: str, name: str) -> float:
    line = next(line for line in exposition.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def wait_until(condition: Any, seconds: float = 30) -> None:
    """A bounded wait for the writer thread (not a timing assertion)."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)
