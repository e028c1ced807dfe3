"""Property-based robustness: schemathesis drives every mounted OpenAPI document in-process.

For generated requests (valid and invalid) no response may be a 5xx and every response must
conform to its document (status code, content type, headers and body schema).

Collecting this module builds nothing: the schemas are read from the shipped documents (cheap),
and the node is built by a module fixture when the first case runs and handed to each call.
``test_schemas_are_the_documents_the_node_serves`` checks the schemas against what it serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.testclient import TestClient

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine
from gdi_node.db.migrate import upgrade
from gdi_node.resources import shipped_dir
from tests.support.beacon_data import write_vcf
from tests.support.catalogue import CATALOGUE

# Each mounted document and the base path the node serves it under (at {base}/openapi.json).
DOCUMENTS = {
    "node.yaml": "",
    "htsget.yaml": "/htsget",
    "drs.yaml": "/ga4gh/drs/v1",
    "beacon.yaml": "/ga4gh/beacon/v2",
    "catalogue.yaml": "/fdp",
    "browser.yaml": "/browser",
}


def _document(name: str) -> dict[str, Any]:
    """A shipped document as the node serves it: under its base path (connexion also inlines
    the local $refs, which schemathesis resolves itself)."""
    text = (shipped_dir("openapi") / name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    document["servers"] = [{"url": DOCUMENTS[name]}]
    return document


def _app(data_dir: Path) -> Any:
    node_settings = Settings.model_validate(
        {
            "data_dir": data_dir,
            "datasets": [
                {
                    "id": "DS1",
                    "name": "One",
                    "description": "The one dataset",
                    "security_level": "PUBLIC",
                    "identifier": "GDI-XX-ONE-1",
                }
            ],
            "catalogue": CATALOGUE,
        }
    )
    engine = make_engine(node_settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    vcf = write_vcf(data_dir / "few.vcf.gz", ["A", "B"], [
        "chr22\t100\t.\tA\tG,T\t.\tPASS\t.\tGT\t0/1\t1/2",
        "chr22\t150\t.\tAT\tA\t.\tPASS\t.\tGT\t0/1\t./.",
    ])  # fmt: skip
    with migrated_sessions(node_settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "DS1")
    return create_app(node_settings, validate_responses=False)


@pytest.fixture(scope="module")
def node_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The node, built once for this module, started and stopped once around its cases."""
    app = _app(tmp_path_factory.mktemp("schemathesis"))
    with TestClient(app):  # runs the app's lifespan: startup now, shutdown after the module
        yield app


@pytest.fixture(scope="module")
def served(node_app: Any) -> Any:
    """The node for schemathesis's calls, answering lifespan events itself: schemathesis opens
    a client per case, and the app's real startup and shutdown must happen once, not per case."""

    async def without_lifespan(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await node_app(scope, receive, send)

    return without_lifespan


# 413 is how the node rejects a body over trust.limits.max_body_bytes: a proper rejection.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*REJECTIONS, "5xx"]}}}
)
# POST /permissions: how many passports and how large is trust.limits (configurable), which a
# schema cannot state; a schema-valid body over those limits is rightly 413.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"]
NODE_CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {"expected-statuses": [*REJECTIONS, "5xx"]},
            "positive_data_acceptance": {"expected-statuses": ACCEPTED},
        }
    }
)
node = schemathesis.openapi.from_dict(_document("node.yaml"), config=NODE_CONFIG)


@node.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_node_api_never_fails_and_always_conforms(case: Any, served: Any) -> None:
    case.call_and_validate(app=served)


htsget = schemathesis.openapi.from_dict(_document("htsget.yaml"), config=CONFIG)


@htsget.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_htsget_api_never_fails_and_always_conforms(case: Any, served: Any) -> None:
    # htsget.md has rules a schema cannot state (start/end need a referenceName, tags and notags
    # must not overlap): a schema-valid request may rightly get 400, so that check is off here.
    case.call_and_validate(app=served, excluded_checks=[positive_data_acceptance])


drs = schemathesis.openapi.from_dict(_document("drs.yaml"), config=CONFIG)


@drs.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_drs_api_never_fails_and_always_conforms(case: Any, served: Any) -> None:
    # Schema-valid ids name no object here: 404 is the right answer to a valid request.
    case.call_and_validate(app=served, excluded_checks=[positive_data_acceptance])


beacon = schemathesis.openapi.from_dict(_document("beacon.yaml"), config=CONFIG)


@beacon.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_beacon_api_never_fails_and_always_conforms(case: Any, served: Any) -> None:
    # Beacon has rules a schema cannot state (a position query needs referenceName and start,
    # end after start): a schema-valid request may rightly get 400, so that check is off here.
    case.call_and_validate(app=served, excluded_checks=[positive_data_acceptance])


catalogue = schemathesis.openapi.from_dict(_document("catalogue.yaml"), config=CONFIG)


@catalogue.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_catalogue_api_never_fails_and_always_conforms(case: Any, served: Any) -> None:
    # Schema-valid ids and formats mostly name nothing: 404 and 406 are right answers there.
    case.call_and_validate(app=served, excluded_checks=[positive_data_acceptance])


browser = schemathesis.openapi.from_dict(_document("browser.yaml"), config=CONFIG)


@browser.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_browser_never_fails_and_always_conforms(case: Any, served: Any) -> None:
    # Schema-valid paths mostly name no variant, region or sequence: a 404 page saying why is
    # the right answer there.
    case.call_and_validate(app=served, excluded_checks=[positive_data_acceptance])


def test_every_document_has_a_schemathesis_run() -> None:
    assert set(DOCUMENTS) == {p.name for p in shipped_dir("openapi").glob("*.yaml")}


def _inlined(node: Any, root: dict[str, Any]) -> Any:
    """``node`` with every local $ref replaced by what it names."""
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            target: Any = root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _inlined(target, root)
        return {key: _inlined(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(item, root) for item in node]
    return node


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_schemas_are_the_documents_the_node_serves(name: str, served: Any) -> None:
    """What schemathesis tests above is what a client of the node reads."""
    document = _document(name)
    answer = TestClient(served).get(f"{DOCUMENTS[name]}/openapi.json")
    assert answer.status_code == 200
    assert answer.json() == _inlined(document, document)
