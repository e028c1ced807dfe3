"""The GDI portal's token path (issue 19; decision record 0028): the portal sends the user's
LS-AAI access token through the Beacon Network, which forwards it unchanged to every member.
A loopback LS-AAI-like broker (real HTTP, ``/userinfo`` with ``ga4gh_passport_v1``) stands in
for LS-AAI. A granted user sees record-level frequencies of a controlled dataset. An expired
token, a token of an issuer the node does not trust and a malformed token each get exactly the
anonymous answer on Beacon queries, plus a note in ``info`` and in the audit trail. DRS,
htsget and ``/permissions`` keep their 401."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.api.test_beacon_api import BEACON, with_budget
from tests.api.test_permissions_api import audit_rows
from tests.support.beacon_data import write_vcf
from tests.support.beacon_spec import assert_valid_records, assert_valid_response
from tests.support.passport_world import World

SAMPLES = [f"S{n}" for n in range(1, 11)]
RECORD = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 6 + ["0/0"] * 4)
VARIANT = {"referenceName": "22", "start": [99], "alternateBases": "G", "assemblyId": "GRCh38"}


def portal_query(granularity: str = "record") -> dict[str, Any]:
    """What the portal sends through the network: a record-level g_variants POST."""
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "requestParameters": VARIANT,
            "requestedGranularity": granularity,
            "includeResultsetResponses": "HIT",
        },
    }


@pytest.fixture
def node(world: World, tmp_path: Path, database_url: str) -> Settings:
    settings = with_budget(world.settings(tmp_path, database_url), units=10**6)
    vcf = write_vcf(tmp_path / "cohort.vcf.gz", SAMPLES, [RECORD])
    with migrated_sessions(settings) as sessions:
        for dataset in ("DS-OPEN", "DS-CTRL"):
            VcfIngestor(sessions).ingest(vcf, dataset)
    return settings


@pytest.fixture
def client(node: Settings) -> Iterator[Any]:
    app = create_app(node, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40004)) as test_client:  # inside residency
        yield test_client


def g_variants(client: Any, token: str | None, body: dict[str, Any] | None = None) -> Any:
    headers = {} if token is None else {"Authorization": token}
    response = client.post(BEACON + "/g_variants", json=body or portal_query(), headers=headers)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert_valid_response(document)
    return document


def by_dataset(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in document.get("response", {}).get("resultSets", [])}


def bad_tokens(world: World) -> dict[str, str]:
    """Authorization headers a user cannot fix, each as the network would forward it."""
    grant = [world.grant()]
    return {
        "expired": "Bearer "
        + world.broker.access_token("alice", visas=grant, exp=int(time.time()) - 3600),
        "untrusted issuer": "Bearer " + world.rogue.access_token("alice", visas=grant),
        "not a JWT": "Bearer not-a-token",
        "three garbled segments": "Bearer eyJhbGciOi.garbled.token",
        "not a bearer": "Basic YWxpY2U6c2VjcmV0",
    }


def without_note(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document without ``info.ignoredCredential``, and that note."""
    rest = dict(document)
    info = dict(rest.pop("info", {}))
    note = info.pop("ignoredCredential", None)
    assert note is not None, "the ignored credential is not noted in the response info"
    if info:
        rest["info"] = info
    return rest, note


def test_a_granted_ls_aai_user_sees_record_level_frequencies_of_the_controlled_dataset(
    client: Any, world: World
) -> None:
    token = world.broker.access_token("alice", visas=[world.grant()])
    granted = g_variants(client, f"Bearer {token}")
    assert granted["meta"]["returnedGranularity"] == "record"
    controlled = by_dataset(granted)["DS-CTRL"]
    assert_valid_records("g_variants", controlled["results"])
    (frequencies,) = controlled["results"][0]["frequencyInPopulations"]
    assert frequencies["frequencies"][-1]["alleleCount"] == 6
    assert frequencies["frequencies"][-1]["alleleNumber"] == 20
    assert "info" not in granted
    # without the token the controlled dataset says only whether the allele is there
    anonymous = by_dataset(g_variants(client, None))
    assert anonymous["DS-CTRL"]["results"] == []
    assert anonymous["DS-CTRL"]["info"] == {"returnedGranularity": "boolean"}


@pytest.mark.parametrize("granularity", ["record", "count", "boolean"])
def test_a_token_the_user_cannot_fix_gets_exactly_the_anonymous_answer_and_a_note(
    client: Any, world: World, granularity: str
) -> None:
    body = portal_query(granularity)
    anonymous = g_variants(client, None, body)
    for name, token in bad_tokens(world).items():
        answered, note = without_note(g_variants(client, token, body))
        assert answered == anonymous, name
        assert note["answeredAs"] == "anonymous"
        assert note["reason"], name
        assert "\n" not in note["reason"], name


def test_every_beacon_query_operation_ignores_a_bad_token_the_same_way(
    client: Any, world: World
) -> None:
    token = bad_tokens(world)["untrusted issuer"]
    for path in ("/individuals", "/datasets", "/filtering_terms", "/g_variants"):
        anonymous = client.get(BEACON + path)
        ignored = client.get(BEACON + path, headers={"Authorization": token})
        assert (anonymous.status_code, ignored.status_code) == (200, 200), path
        answered, _ = without_note(ignored.json())
        assert answered == anonymous.json(), path


def test_an_ignored_credential_is_audited_before_the_anonymous_decisions(
    client: Any, world: World, node: Settings
) -> None:
    headers = {"Authorization": bad_tokens(world)["expired"], "X-Request-ID": "token-path-1"}
    assert client.post(BEACON + "/g_variants", json=portal_query(), headers=headers).is_success
    client.app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush(timeout=30)
    rows = [r for r in audit_rows(node) if r["request_id"] == "token-path-1"]
    refusal, *decisions = rows
    assert refusal["decision"] == "deny"
    assert refusal["dataset_id"] is None
    assert refusal["object_id"].startswith("credential ignored, answered as anonymous: ")
    assert {r["dataset_id"] for r in decisions} == {"DS-OPEN", "DS-REG", "DS-CTRL", "DS-HIDDEN"}
    assert all(r["subject"] is None for r in rows)


def test_other_apis_keep_401_for_the_same_tokens(client: Any, world: World) -> None:
    requests: list[tuple[str, Callable[[dict[str, str]], Any]]] = [
        ("/permissions", lambda h: client.get("/permissions", headers=h)),
        ("DRS", lambda h: client.get("/ga4gh/drs/v1/objects/some-object", headers=h)),
        ("htsget", lambda h: client.get("/htsget/reads/some-object", headers=h)),
    ]
    for name, token in bad_tokens(world).items():
        for api, send in requests:
            response = send({"Authorization": token})
            assert response.status_code == 401, (name, api, response.text)


def test_a_bearer_token_with_body_passports_stays_a_400(client: Any, world: World) -> None:
    passport = world.broker.passport("alice", [])
    body = portal_query() | {"passports": [passport]}
    response = client.post(
        BEACON + "/g_variants", json=body, headers={"Authorization": f"Bearer {passport}"}
    )
    assert response.status_code == 400


def test_a_passport_over_the_size_limit_in_the_body_is_ignored_too(client: Any) -> None:
    oversized = {"passports": ["x" * 70_000]}
    anonymous = g_variants(client, None)
    answered, note = without_note(g_variants(client, None, portal_query() | oversized))
    assert answered == anonymous
    assert "larger than" in note["reason"]
    assert client.post("/permissions", json=oversized).status_code == 413
