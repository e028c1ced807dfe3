"""Property-based robustness: schemathesis drives every mounted OpenAPI document in-process.

For generated requests (valid and invalid) no response may be a 5xx and every response must
conform to its document (status code, content type, headers and body schema).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine
from gdi_node.db.migrate import upgrade
from gdi_node.resources import shipped_dir
from tests.support.beacon_data import write_vcf

# Each mounted document and where the node serves it.
DOCUMENTS = {
    "node.yaml": "/openapi.json",
    "htsget.yaml": "/htsget/openapi.json",
    "drs.yaml": "/ga4gh/drs/v1/openapi.json",
    "beacon.yaml": "/ga4gh/beacon/v2/openapi.json",
}

_DATA_DIR = Path(tempfile.mkdtemp(prefix="gdi-node-schemathesis-"))


def _app() -> Any:
    node_settings = Settings.model_validate(
        {
            "data_dir": _DATA_DIR,
            "datasets": [{"id": "DS1", "name": "One", "security_level": "PUBLIC"}],
        }
    )
    engine = make_engine(node_settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    vcf = write_vcf(_DATA_DIR / "few.vcf.gz", ["A", "B"], [
        "chr22\t100\t.\tA\tG,T\t.\tPASS\t.\tGT\t0/1\t1/2",
        "chr22\t150\t.\tAT\tA\t.\tPASS\t.\tGT\t0/1\t./.",
    ])  # fmt: skip
    with migrated_sessions(node_settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "DS1")
    return create_app(node_settings, validate_responses=False)


APP = _app()


async def _without_lifespan(scope: Any, receive: Any, send: Any) -> None:
    """Serve APP, answering lifespan events here: schemathesis opens a client per case, and
    the app's real shutdown (closing the audit trail) must happen once, not per case."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await APP(scope, receive, send)


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
node = schemathesis.openapi.from_asgi(DOCUMENTS["node.yaml"], _without_lifespan, config=NODE_CONFIG)


@node.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_node_api_never_fails_and_always_conforms(case: Any) -> None:
    case.call_and_validate()


htsget = schemathesis.openapi.from_asgi(DOCUMENTS["htsget.yaml"], _without_lifespan, config=CONFIG)


@htsget.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_htsget_api_never_fails_and_always_conforms(case: Any) -> None:
    # htsget.md has rules a schema cannot state (start/end need a referenceName, tags and notags
    # must not overlap): a schema-valid request may rightly get 400, so that check is off here.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


drs = schemathesis.openapi.from_asgi(DOCUMENTS["drs.yaml"], _without_lifespan, config=CONFIG)


@drs.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_drs_api_never_fails_and_always_conforms(case: Any) -> None:
    # Schema-valid ids name no object here: 404 is the right answer to a valid request.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


beacon = schemathesis.openapi.from_asgi(DOCUMENTS["beacon.yaml"], _without_lifespan, config=CONFIG)


@beacon.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_beacon_api_never_fails_and_always_conforms(case: Any) -> None:
    # Beacon has rules a schema cannot state (a position query needs referenceName and start,
    # end after start): a schema-valid request may rightly get 400, so that check is off here.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def test_every_document_has_a_schemathesis_run() -> None:
    assert set(DOCUMENTS) == {p.name for p in shipped_dir("openapi").glob("*.yaml")}
