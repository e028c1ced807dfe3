"""Self-tests of the loopback Passport peers in tests/passport_peers.py, over real HTTP."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError, JoseError

from tests.support.passport_peers import (
    ACCESS_TOKEN_TYPE,
    JWT_TOKEN_TYPE,
    PASSPORT_TOKEN_TYPE,
    REMOVE,
    TOKEN_EXCHANGE,
    Authority,
    PeerServer,
)

DATASET = "https://ega.example.org/datasets/EGAD0001"
SOURCE = "https://dac.example.org"


@pytest.fixture
def peers() -> Iterator[PeerServer]:
    with PeerServer() as server:
        yield server


@pytest.fixture
def broker(peers: PeerServer) -> Authority:
    authority = peers.authority("broker")
    authority.register_client("gdi-node", "s3cret")
    return authority


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".", maxsplit=1)[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def verify(token: str, keys: jwk.KeySet, alg: str = "RS256") -> dict[str, Any]:
    return jwt.decode(token, keys, algorithms=[alg]).claims


def fetch_keys(url: str) -> jwk.KeySet:
    return jwk.KeySet.import_key_set(httpx.get(url).raise_for_status().json())


def exchange(broker: Authority, subject: str, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "requested_token_type": JWT_TOKEN_TYPE,
    }
    auth = overrides.pop("auth", "gdi-node:s3cret").split(":")
    form.update(overrides)
    return httpx.post(broker.token_url, data=form, auth=(auth[0], auth[1]))


def test_discovery_document_names_the_endpoints(broker: Authority) -> None:
    doc = httpx.get(broker.configuration_url).json()
    assert doc["issuer"] == broker.issuer == f"{broker.issuer.rsplit('/', 1)[0]}/broker"
    assert (doc["jwks_uri"], doc["userinfo_endpoint"], doc["token_endpoint"]) == (
        broker.jwks_url,
        broker.userinfo_url,
        broker.token_url,
    )
    assert TOKEN_EXCHANGE in doc["grant_types_supported"]


def test_jwks_serves_the_active_key_and_a_visa_verifies_with_it(broker: Authority) -> None:
    document = httpx.get(broker.jwks_url).json()
    assert [k["kid"] for k in document["keys"]] == [broker.active_kid]
    assert {(k["alg"], k["use"]) for k in document["keys"]} == {("RS256", "sig")}
    assert all("d" not in k for k in document["keys"]), "private key material published"
    before = int(time.time())
    visa = broker.visa("alice", "ControlledAccessGrants", DATASET, SOURCE, by="dac")
    after = int(time.time())
    assert header_of(visa) == {
        "alg": "RS256",
        "kid": broker.active_kid,
        "typ": "vnd.ga4gh.visa+jwt",
        "jku": broker.jwks_url,
    }
    claims = verify(visa, jwk.KeySet.import_key_set(document))
    assert claims["iss"] == broker.issuer
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 3600
    assert before <= claims["iat"] <= after
    assert claims["ga4gh_visa_v1"] == {
        "type": "ControlledAccessGrants",
        "asserted": claims["ga4gh_visa_v1"]["asserted"],
        "value": DATASET,
        "source": SOURCE,
        "by": "dac",
    }
    assert before - 86400 <= claims["ga4gh_visa_v1"]["asserted"] <= after - 86400
    assert "scope" not in claims


def test_visa_overrides_and_removals_reach_the_token(broker: Authority) -> None:
    visa = broker.visa(
        "alice",
        "ResearcherStatus",
        "https://doi.org/10.1038/s41431-018-0219-y",
        SOURCE,
        conditions=[[{"type": "AffiliationAndRole", "value": "const:faculty@uni.example"}]],
        exp=123,
        jti="fixed",
        extra_claims={"iat": REMOVE, "aud": "x"},
        extra_visa={"by": "so"},
        header_overrides={"jku": "https://evil.example/jwks", "typ": REMOVE},
    )
    assert header_of(visa) == {
        "alg": "RS256",
        "kid": broker.active_kid,
        "jku": "https://evil.example/jwks",
    }
    claims = jwt.decode(visa, broker.key_set()).claims  # signature only; exp is in the past
    assert "iat" not in claims
    assert claims["aud"] == "x"
    assert claims["jti"] == "fixed"
    assert claims["exp"] == 123
    assert claims["ga4gh_visa_v1"]["by"] == "so"
    assert claims["ga4gh_visa_v1"]["conditions"][0][0]["type"] == "AffiliationAndRole"


def test_rotation_changes_the_kid_and_drops_the_old_key(broker: Authority) -> None:
    old_kid = broker.active_kid
    old_visa = broker.visa("alice", "AcceptedTermsAndPolicies", DATASET, SOURCE)
    new_kid = broker.rotate()
    assert new_kid != old_kid
    assert broker.active_kid == new_kid
    keys = fetch_keys(broker.jwks_url)
    assert [k.kid for k in keys] == [new_kid]
    with pytest.raises(JoseError):
        verify(old_visa, keys)
    assert header_of(broker.visa("alice", "LinkedIdentities", "a,b", SOURCE))["kid"] == new_kid


def test_rotation_with_keep_old_publishes_both_keys(broker: Authority) -> None:
    old_kid = broker.active_kid
    old_visa = broker.visa("alice", "AcceptedTermsAndPolicies", DATASET, SOURCE)
    new_kid = broker.rotate(keep_old=True)
    keys = fetch_keys(broker.jwks_url)
    assert sorted(k.kid or "" for k in keys) == sorted([old_kid, new_kid])
    assert verify(old_visa, keys)["sub"] == "alice"


def test_retired_key_still_signs_for_attack_tests(broker: Authority) -> None:
    retired = broker.active_kid
    broker.rotate()
    forged = broker.sign({"typ": "JWT"}, {"sub": "mallory"}, key_kid=retired)
    assert header_of(forged)["kid"] == retired
    with pytest.raises(JoseError):
        verify(forged, fetch_keys(broker.jwks_url))


def test_alg_none_forgery_is_unsigned(broker: Authority) -> None:
    forged = broker.sign({"alg": "none", "typ": "vnd.ga4gh.visa+jwt"}, {"sub": "mallory"})
    assert forged.endswith(".")
    assert header_of(forged)["alg"] == "none"
    with pytest.raises(JoseError):
        verify(forged, broker.key_set())


def test_es256_authority_signs_verifiable_visas_and_passports(peers: PeerServer) -> None:
    issuer = peers.authority("dac", alg="ES256")
    key = httpx.get(issuer.jwks_url).json()["keys"][0]
    assert (key["kty"], key["crv"], key["alg"]) == ("EC", "P-256", "ES256")
    visa = issuer.visa("bob", "ControlledAccessGrants", DATASET, SOURCE)
    passport = issuer.passport("bob", [visa], aud="https://node.example")
    assert header_of(passport)["typ"] == "vnd.ga4gh.passport+jwt"
    keys = fetch_keys(issuer.jwks_url)
    claims = verify(passport, keys, "ES256")
    assert claims["ga4gh_passport_v1"] == [visa]
    assert claims["aud"] == "https://node.example"
    assert verify(visa, keys, "ES256")["ga4gh_visa_v1"]["value"] == DATASET


def test_userinfo_returns_the_visas_of_a_valid_token(broker: Authority) -> None:
    visas = [broker.visa("alice", "ControlledAccessGrants", DATASET, SOURCE)]
    token = broker.access_token("alice", visas=visas)
    assert header_of(token)["typ"] == "at+jwt"
    inside = verify(token, broker.key_set())
    assert inside["scope"] == "openid ga4gh_passport_v1"
    assert inside["client_id"] == "gdi-node"
    assert not {"ga4gh_passport_v1", "ga4gh_visa_v1"} & inside.keys()
    response = httpx.get(broker.userinfo_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "ga4gh_passport_v1": visas}
    assert "no-store" in response.headers["cache-control"]


@pytest.mark.parametrize("case", ["revoked", "expired", "unknown"])
def test_userinfo_refuses_a_token_that_is(broker: Authority, case: str) -> None:
    token = broker.access_token(
        "alice", visas=[], exp=int(time.time()) - 5 if case == "expired" else None
    )
    if case == "revoked":
        broker.revoke(token)
    elif case == "unknown":
        token = broker.sign({"typ": "at+jwt"}, {"iss": broker.issuer, "sub": "alice"})
    response = httpx.get(broker.userinfo_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_userinfo_without_a_token_is_a_bare_bearer_challenge(broker: Authority) -> None:
    response = httpx.get(broker.userinfo_url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_visa_access_token_can_be_polled_until_revoked(broker: Authority) -> None:
    visa = broker.visa("carol", "AffiliationAndRole", "faculty@uni.example", SOURCE, form="access")
    header = header_of(visa)
    assert "jku" not in header
    assert header["typ"] == "JWT"
    assert verify(visa, broker.key_set())["scope"].split()[0] == "openid"
    polled = httpx.get(broker.userinfo_url, headers={"Authorization": f"Bearer {visa}"})
    assert (polled.status_code, polled.json()) == (200, {"sub": "carol"})
    broker.revoke(visa)
    polled = httpx.get(broker.userinfo_url, headers={"Authorization": f"Bearer {visa}"})
    assert polled.status_code == 401


@pytest.mark.parametrize("requested", [JWT_TOKEN_TYPE, PASSPORT_TOKEN_TYPE])
def test_token_exchange_returns_a_passport_of_the_tokens_visas(
    broker: Authority, peers: PeerServer, requested: str
) -> None:
    issuer = peers.authority("dac", alg="ES256")
    visas = [
        issuer.visa("alice", "ControlledAccessGrants", DATASET, SOURCE),
        broker.visa("alice", "AcceptedTermsAndPolicies", "https://tos.example", SOURCE),
    ]
    token = broker.access_token("alice", visas=visas)
    response = exchange(broker, token, requested_token_type=requested, audience="https://n.example")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == requested
    assert body["token_type"] == "N_A"
    assert body["expires_in"] > 0
    assert "no-store" in response.headers["cache-control"]
    passport = body["access_token"]
    assert header_of(passport)["typ"] == "vnd.ga4gh.passport+jwt"
    claims = verify(passport, fetch_keys(broker.jwks_url))
    assert claims["ga4gh_passport_v1"] == visas
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        broker.issuer,
        "alice",
        ["https://n.example"],
    )
    sent = peers.recorded(broker.token_url)[-1]
    assert sent.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize("auth", ["gdi-node:wrong", "stranger:s3cret"])
def test_token_exchange_refuses_bad_client_credentials(broker: Authority, auth: str) -> None:
    response = exchange(broker, broker.access_token("alice"), auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_token_exchange_refuses_a_missing_client_authentication(broker: Authority) -> None:
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": broker.access_token("alice")}
    response = httpx.post(broker.token_url, data=form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": ""}, "invalid_request"),
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request"),
        ({"requested_token_type": ACCESS_TOKEN_TYPE}, "invalid_request"),
        ({"subject_token": "not-a-token"}, "invalid_request"),
    ],
)
def test_token_exchange_refuses_malformed_requests(
    broker: Authority, overrides: dict[str, str], error: str
) -> None:
    response = exchange(broker, broker.access_token("alice"), **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == error


@pytest.mark.parametrize("case", ["revoked", "expired", "other-client", "no-passport-scope"])
def test_token_exchange_refuses_an_unusable_subject_token(broker: Authority, case: str) -> None:
    broker.register_client("other", "pw")
    exp = int(time.time()) - 1 if case == "expired" else None
    scope = "openid" if case == "no-passport-scope" else "openid ga4gh_passport_v1"
    token = broker.access_token("alice", exp=exp, scope=scope)
    if case == "revoked":
        broker.revoke(token)
    auth = "other:pw" if case == "other-client" else "gdi-node:s3cret"
    assert exchange(broker, token, auth=auth).json()["error"] == "invalid_request"
    broker.invalid_subject_error = "invalid_grant"
    assert exchange(broker, token, auth=auth).json()["error"] == "invalid_grant"


def test_a_misbehave_delay_holds_the_answer_back(peers: PeerServer, broker: Authority) -> None:
    peers.misbehave(broker.jwks_url, delay=0.3)
    assert httpx.get(broker.jwks_url).status_code == 200  # delayed, not refused
    with pytest.raises(httpx.ReadTimeout):  # a client that will not wait gets nothing
        httpx.get(broker.jwks_url, timeout=0.05)


def test_misbehave_status_body_and_content_type_replace_the_answer(
    peers: PeerServer, broker: Authority
) -> None:
    peers.misbehave(broker.jwks_url, status=503)
    response = httpx.get(broker.jwks_url)
    assert response.status_code == 503
    assert "keys" in response.json()
    peers.misbehave(broker.jwks_url, body=b"<html>not json</html>", content_type="text/html")
    response = httpx.get(broker.jwks_url)
    assert (response.status_code, response.text) == (200, "<html>not json</html>")
    assert response.headers["content-type"] == "text/html"
    peers.heal(broker.jwks_url)
    assert httpx.get(broker.jwks_url).json()["keys"][0]["kid"] == broker.active_kid


def test_misbehave_redirect_sends_the_client_elsewhere(
    peers: PeerServer, broker: Authority
) -> None:
    elsewhere = peers.authority("elsewhere")
    peers.misbehave(broker.jwks_url, redirect_to=elsewhere.jwks_url)
    response = httpx.get(broker.jwks_url)
    assert response.status_code == 302
    assert response.headers["location"] == elsewhere.jwks_url
    followed = httpx.get(broker.jwks_url, follow_redirects=True)
    assert followed.json()["keys"][0]["kid"] == elsewhere.active_kid
    peers.misbehave(broker.jwks_url, redirect_to=elsewhere.jwks_url, status=307)
    assert httpx.get(broker.jwks_url).status_code == 307


def test_requests_are_counted_per_exact_path(peers: PeerServer, broker: Authority) -> None:
    assert peers.requests_to(broker.jwks_url) == 0
    httpx.get(broker.jwks_url)
    httpx.get(broker.jwks_url + "?x=1")
    httpx.get(broker.configuration_url)
    assert httpx.get(f"{peers.base_url}/nobody/jwks").status_code == 404
    assert httpx.get(f"{broker.issuer}/nothing").status_code == 404
    assert peers.requests_to(broker.jwks_url) == 2
    assert peers.requests_to("/broker/jwks") == 2
    assert peers.requests_to(broker.configuration_url) == 1
    assert peers.requests_to("/nobody/jwks") == 1
    assert [r.query for r in peers.recorded("/broker/jwks")] == ["", "x=1"]
    peers.reset_counts()
    assert peers.requests_to(broker.jwks_url) == 0
    assert peers.recorded() == []


def test_wrong_method_is_refused(broker: Authority) -> None:
    assert httpx.post(broker.jwks_url).status_code == 405
    assert httpx.get(broker.token_url).status_code == 405


def test_server_shuts_down_after_the_context(broker: Authority) -> None:
    before = threading.active_count()
    with PeerServer() as server:
        authority = server.authority("short-lived", alg="ES256")
        assert httpx.get(authority.jwks_url).status_code == 200
        port = int(server.base_url.rsplit(":", 1)[1])
    assert threading.active_count() == before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_shutdown_cuts_short_a_delayed_answer() -> None:
    delay = 60
    with PeerServer() as server:
        authority = server.authority("slow")
        server.misbehave(authority.jwks_url, delay=delay)
        results: list[int] = []
        client = threading.Thread(
            target=lambda: results.append(httpx.get(authority.jwks_url, timeout=10).status_code)
        )
        client.start()
        while server.requests_to(authority.jwks_url) == 0:
            time.sleep(0.01)
        started = time.monotonic()
    # Not a speed check: the bound only tells "cut the delay short" from "waited it out".
    assert time.monotonic() - started < delay / 2
    client.join(timeout=5)
    assert results == [200]


def test_a_started_server_answers_at_once() -> None:
    with PeerServer() as server:
        assert httpx.get(f"{server.base_url}/").status_code == 404


def test_forged_signature_with_foreign_key_is_rejected(broker: Authority) -> None:
    stranger = jwk.RSAKey.generate_key(2048)
    forged = broker.sign({}, {"sub": "mallory"}, key=stranger)
    assert header_of(forged)["kid"] == broker.active_kid
    with pytest.raises(BadSignatureError):
        verify(forged, broker.key_set())


def test_a_peer_server_runs_only_once() -> None:
    server = PeerServer()
    with pytest.raises(RuntimeError):
        server.authority("early")
    with server:
        pass
    with pytest.raises(RuntimeError):
        server.start()


def test_access_token_expiry_follows_an_overridden_exp_claim(broker: Authority) -> None:
    token = broker.access_token("alice", extra_claims={"exp": int(time.time()) - 1})
    response = httpx.get(broker.userinfo_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
