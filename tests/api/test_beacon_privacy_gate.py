"""Every Beacon operation passes the one privacy gate (decision record 0016).

Each operationId of ``openapi/beacon.yaml`` is called once, GET and POST alike, by a caller of
its own. One that discloses anything about the data must leave one audited decision per
dataset it considered and must be charged to the caller's query budget exactly once, whether
it answers 200 or 404. The few operations the Beacon table declares informational must leave
neither, and must answer the same before and after data are loaded (they disclose nothing
about it). A new handler that skips the gate, or passes it twice, fails here. SQLite and
PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from gdi_node.app import create_app
from gdi_node.beacon.api import INFORMATIONAL
from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine
from gdi_node.db.models import AuditRecord, BeaconQueryBudget
from gdi_node.passport.local_issuer import LocalIssuer
from gdi_node.resources import openapi_document
from tests.api.test_beacon_api import BEACON, with_budget
from tests.support.beacon_data import write_vcf
from tests.support.beacon_metadata import sample_sheet, write_metadata
from tests.support.htsget_setup import node_settings

SAMPLES = [f"S{n}" for n in range(1, 11)]
RECORDS = ["chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 6 + ["0/0"] * 4)]
# the {id} of each path, by the path's first segment (records of the metadata set)
IDS = {
    "g_variants": "GRCh38:22:100:A:G",
    "datasets": "OPEN",
    "individuals": "IND-1",
    "biosamples": "BS-1",
    "runs": "RUN-1",
    "analyses": "AN-1",
    "cohorts": "trio",
}
VARIANT = {"referenceName": "22", "start": [99], "alternateBases": "G"}
DECLARED = ["CTRL", "OPEN"]  # the datasets node_settings declares


def beacon_operations() -> list[tuple[str, str, str]]:
    """(operationId, method, concrete path) for every operation of the Beacon document."""
    spec = yaml.safe_load(openapi_document("beacon.yaml").read_text(encoding="utf-8"))
    out = []
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post"):
                first = template.strip("/").split("/")[0]
                path = template.replace("{id}", IDS.get(first, "{id}"))
                out.append((operation["operationId"], method, path))
    return out


def needs_variant_query(path: str) -> bool:
    """g_variants without an allele id needs a variant query (a 400 otherwise)."""
    return path.endswith("/g_variants") and not re.match(r"^/g_variants/", path)


def call(client: Any, method: str, path: str, headers: dict[str, str]) -> Any:
    if method == "get":
        query = "?referenceName=22&start=99&alternateBases=G" if needs_variant_query(path) else ""
        return client.get(BEACON + path + query, headers=headers)
    body: dict[str, Any] = {"meta": {"apiVersion": "v2.0"}, "query": {}}
    if needs_variant_query(path):
        body["query"]["requestParameters"] = VARIANT
    return client.post(BEACON + path, json=body, headers=headers)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    settings = node_settings(tmp_path, "http://testserver", database_url)
    # a budget that never refuses, each answer charged 1 unit whatever it reveals
    return with_budget(settings, units=10**6, base_cost=1, rare_cost=0)


def load_data(settings: Settings, tmp: Path) -> None:
    vcf = write_vcf(tmp / "gate.vcf.gz", SAMPLES, RECORDS)
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN", sample_sheet=sample_sheet(tmp / "s.tsv"))
        MetadataIngestor(sessions).ingest(write_metadata(tmp / "metadata"), "OPEN")


@pytest.fixture
def client(node: Settings) -> Iterator[Any]:
    with migrated_sessions(node):
        pass
    app = create_app(node, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40002)) as test_client:
        yield test_client


def caller(node: Settings, name: str) -> dict[str, str]:
    """A caller of its own (its own budget), authenticated, holding no grant."""
    token = LocalIssuer.for_settings(node).passport(node, f"gate-{name}", [])
    return {"Authorization": f"Bearer {token}", "X-Request-ID": f"gate-{name}"}


def audited(node: Settings) -> dict[str, list[str]]:
    """Request id -> the datasets of the decisions audited for it."""
    engine = make_engine(node.effective_database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(AuditRecord.request_id, AuditRecord.dataset_id)).all()
    engine.dispose()
    out: dict[str, list[str]] = {}
    for request_id, dataset_id in rows:
        out.setdefault(str(request_id), []).append(str(dataset_id))
    return {k: sorted(v) for k, v in out.items()}


def charged(node: Settings) -> dict[str, int]:
    """Budget principal -> units used in the current window."""
    engine = make_engine(node.effective_database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(BeaconQueryBudget.principal, BeaconQueryBudget.used))
        used = {str(principal): int(units) for principal, units in rows}
    engine.dispose()
    return used


def units_of(used: dict[str, int], name: str) -> int:
    return sum(units for principal, units in used.items() if principal.endswith(f"|gate-{name}"))


def test_the_beacon_document_and_the_informational_table_agree() -> None:
    operation_ids = {operation_id for operation_id, _, _ in beacon_operations()}
    assert operation_ids >= INFORMATIONAL, sorted(INFORMATIONAL - operation_ids)
    assert len(operation_ids) - len(INFORMATIONAL) == 64  # the data-bearing operations


def test_every_beacon_operation_is_audited_and_charged_exactly_once(
    node: Settings, client: Any, tmp_path: Path
) -> None:
    operations = beacon_operations()
    before = {
        operation_id: call(client, method, path, caller(node, operation_id)).json()
        for operation_id, method, path in operations
        if operation_id in INFORMATIONAL
    }
    load_data(node, tmp_path)
    statuses = {}
    for operation_id, method, path in operations:
        response = call(client, method, path, caller(node, operation_id))
        statuses[operation_id] = response.status_code
        assert response.status_code in (200, 404), (operation_id, response.text)
        if operation_id in INFORMATIONAL:
            assert response.json() == before[operation_id], f"{operation_id} tells of the data"
    time.sleep(1.1)  # a worker adds what it spent to the table at most once a second:
    call(client, "get", "/datasets", caller(node, "flush"))  # this spend writes it all
    client.app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush(timeout=30)

    decisions, used = audited(node), charged(node)
    wrong = {}
    for operation_id, _, path in operations:
        if operation_id in INFORMATIONAL:
            expected: tuple[list[str], int] = ([], 0)
        else:  # below /datasets/{id} only that dataset is considered
            expected = (["OPEN"] if path.startswith("/datasets/") else DECLARED, 1)
        got = (decisions.get(f"gate-{operation_id}", []), units_of(used, operation_id))
        if got != expected:
            status = statuses[operation_id]
            wrong[operation_id] = {"audited": got[0], "charged": got[1], "status": status}
    assert not wrong, wrong
