"""``/permissions`` end to end: credentials over HTTP, the documented statuses, the audit trail,
and the local issuer of the embedded default."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.db.migrate import upgrade
from gdi_node.passport.audit_chain import verify_chain
from gdi_node.passport.local_issuer import LocalIssuer
from tests.support.passport_world import DAC, DATASET_URN, World


@pytest.fixture
def node_settings(world: World, tmp_path: Path, database_url: str) -> Settings:
    return world.settings(tmp_path, database_url, local_issuer=True)


@pytest.fixture
def api(node_settings: Settings) -> Iterator[Any]:
    engine = make_engine(node_settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    app = create_app(node_settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 50000)) as client:  # inside the residency network
        yield client


def listed(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {p["datasetId"]: p for p in response.json()["permissions"]}


def audit_rows(settings: Settings) -> list[dict[str, Any]]:
    from io import StringIO

    from gdi_node.passport.audit_chain import export_jsonl

    engine = make_engine(settings.effective_database_url)
    out = StringIO()
    export_jsonl(make_session_factory(engine), out)
    engine.dispose()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_anonymous_caller_sees_aggregates_and_not_hidden_datasets(api: Any) -> None:
    body = api.get("/permissions").json()
    assert body["subject"] is None
    permissions = {p["datasetId"]: p["disclosure"] for p in body["permissions"]}
    assert permissions == {"DS-OPEN": "file", "DS-REG": "count", "DS-CTRL": "boolean"}


def test_passport_as_bearer_grants_its_dataset_until_the_visa_expires(
    api: Any, world: World
) -> None:
    passport = world.broker.passport("alice", [world.grant()])
    got = listed(api.get("/permissions", headers={"Authorization": f"Bearer {passport}"}))
    assert got["DS-CTRL"]["audience"] == "controlled"
    assert got["DS-CTRL"]["disclosure"] == "file"
    assert got["DS-CTRL"]["expiresAt"].endswith("Z")
    assert got["DS-CTRL"]["visaIds"]


def test_passports_in_the_body_work_like_a_bearer(api: Any, world: World) -> None:
    passport = world.broker.passport("alice", world.registered())
    got = listed(api.post("/permissions", json={"passports": [passport]}))
    assert got["DS-REG"]["audience"] == "registered"


def test_bearer_and_body_passports_together_are_400(api: Any, world: World) -> None:
    passport = world.broker.passport("alice", [])
    response = api.post(
        "/permissions",
        json={"passports": [passport]},
        headers={"Authorization": f"Bearer {passport}"},
    )
    assert response.status_code == 400
    assert "not both" in response.json()["message"]


def test_invalid_credential_is_401_never_anonymous(api: Any, world: World) -> None:
    forged = world.rogue.passport("alice", [world.grant()])
    response = api.get("/permissions", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["code"] == "InvalidAuthentication"


def test_a_passport_without_the_passport_claim_is_401(api: Any, world: World) -> None:
    from tests.support.passport_peers import REMOVE

    token = world.broker.passport("alice", [], extra_claims={"ga4gh_passport_v1": REMOVE})
    response = api.get("/permissions", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "ga4gh_passport_v1" in response.json()["errors"][0]["message"]


def test_oversized_body_is_413(api: Any) -> None:
    response = api.post(
        "/permissions",
        content=b"{" + b" " * 1_100_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "PayloadTooLarge"


def test_every_decision_is_audited_with_a_pseudonymous_subject(
    api: Any, world: World, node_settings: Settings
) -> None:
    passport = world.broker.passport("alice", [world.grant()])
    api.get("/permissions", headers={"Authorization": f"Bearer {passport}", "X-Request-ID": "r-1"})
    api.get("/permissions", headers={"Authorization": "Bearer not.a.passport"})
    api.app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush()
    rows = audit_rows(node_settings)
    mine = [r for r in rows if r["request_id"] == "r-1"]
    assert {r["dataset_id"] for r in mine} == {"DS-OPEN", "DS-REG", "DS-CTRL", "DS-HIDDEN"}
    ctrl = next(r for r in mine if r["dataset_id"] == "DS-CTRL")
    assert ctrl["decision"] == "allow"
    assert ctrl["disclosure"] == "file"
    assert ctrl["visa_ids"]
    assert ctrl["client_address"]
    assert "alice" not in json.dumps(rows)
    assert len(ctrl["subject"] or "") == 64
    assert any(r["decision"] == "deny" and r["dataset_id"] is None for r in rows)
    engine = make_engine(node_settings.effective_database_url)
    assert verify_chain(make_session_factory(engine)).ok
    engine.dispose()


def test_a_grant_from_an_issuer_not_bound_to_its_dac_is_refused_and_audited_as_such(
    api: Any, world: World, node_settings: Settings
) -> None:
    """Passport v1.2 General Requirements 8.3 (decision record 0010): the AAI is a trusted visa
    issuer but does not speak for DAC; its grant is refused, and the decision's audit row
    names the refused visa, its issuer and the source it claimed, apart from the visas used."""
    refused = world.aai.visa(
        "alice", "ControlledAccessGrants", DATASET_URN, DAC, by="dac", jti="aai-grant-1"
    )
    passport = world.broker.passport("alice", [refused])
    headers = {"Authorization": f"Bearer {passport}", "X-Request-ID": "r-refused"}
    got = listed(api.get("/permissions", headers=headers))
    assert got["DS-CTRL"]["audience"] == "anonymous"
    assert got["DS-CTRL"]["disclosure"] == "boolean"
    both = world.broker.passport("alice", [refused, world.grant(jti="rems-grant-1")])
    headers = {"Authorization": f"Bearer {both}", "X-Request-ID": "r-both"}
    assert listed(api.get("/permissions", headers=headers))["DS-CTRL"]["audience"] == "controlled"
    api.app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush()
    rows = {(r["request_id"], r["dataset_id"]): r for r in audit_rows(node_settings)}
    entry = {"id": "aai-grant-1", "iss": world.aai.issuer, "source": DAC}
    alone = rows[("r-refused", "DS-CTRL")]
    assert (alone["decision"], alone["visa_ids"], alone["refused_visas"]) == ("allow", [], [entry])
    beside = rows[("r-both", "DS-CTRL")]
    assert (beside["visa_ids"], beside["refused_visas"]) == (["rems-grant-1"], [entry])
    assert "refused_visas" not in rows[("r-refused", "DS-OPEN")]  # nothing refused there
    engine = make_engine(node_settings.effective_database_url)
    assert verify_chain(make_session_factory(engine)).ok
    engine.dispose()


def test_the_local_issuer_is_bound_to_its_own_dac_source_only(
    api: Any, world: World, node_settings: Settings
) -> None:
    """Another trusted issuer cannot grant in the local DAC's name, and the local issuer
    cannot grant in the name of another DAC."""
    local = LocalIssuer.for_settings(node_settings)
    in_local_name = world.rems.visa(
        "alice", "ControlledAccessGrants", DATASET_URN, local.dac_source, by="dac"
    )
    got = listed(
        api.get(
            "/permissions",
            headers={"Authorization": f"Bearer {world.broker.passport('alice', [in_local_name])}"},
        )
    )
    assert got["DS-CTRL"]["audience"] == "anonymous"
    now = int(time.time())
    grant = {"type": "ControlledAccessGrants", "by": "dac", "value": DATASET_URN, "source": DAC}
    in_dac_name = local.visa("alice", grant, now + 600, now)
    got = listed(
        api.get(
            "/permissions",
            headers={"Authorization": f"Bearer {world.broker.passport('alice', [in_dac_name])}"},
        )
    )
    assert got["DS-CTRL"]["audience"] == "anonymous"
    own = local.passport(node_settings, "alice", ["DS-CTRL"], ttl=600)
    got = listed(api.get("/permissions", headers={"Authorization": f"Bearer {own}"}))
    assert got["DS-CTRL"]["audience"] == "controlled"


def test_local_issuer_publishes_its_keys_and_its_passports_are_accepted(
    api: Any, node_settings: Settings
) -> None:
    jwks = api.get("/passport/jwks").json()
    assert jwks["keys"][0]["kty"] == "EC"
    assert "d" not in jwks["keys"][0]
    issuer = LocalIssuer.for_settings(node_settings)
    token = issuer.passport(node_settings, "bob", ["DS-HIDDEN"], registered=True, ttl=600)
    got = listed(api.get("/permissions", headers={"Authorization": f"Bearer {token}"}))
    assert got["DS-HIDDEN"]["audience"] == "controlled"
    assert got["DS-HIDDEN"]["disclosure"] == "record"
    assert got["DS-REG"]["audience"] == "registered"


def test_local_issuer_jwks_is_404_when_not_trusted(world: World, tmp_path: Path) -> None:
    settings = world.settings(tmp_path)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    with create_app(settings, validate_responses=True).test_client() as client:
        assert client.get("/passport/jwks").status_code == 404


def test_requests_from_outside_the_residency_networks_get_aggregates(
    api: Any, node_settings: Settings, world: World
) -> None:
    passport = world.broker.passport("alice", [world.grant()])
    app = create_app(node_settings, validate_responses=True)
    with app.test_client(client=("198.51.100.7", 50000)) as abroad:
        got = listed(abroad.get("/permissions", headers={"Authorization": f"Bearer {passport}"}))
    assert got["DS-CTRL"]["audience"] == "controlled"
    assert got["DS-CTRL"]["disclosure"] == "count"
    assert got["DS-CTRL"]["residency"] is False
