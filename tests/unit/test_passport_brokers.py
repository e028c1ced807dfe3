"""Access tokens of trusted brokers (LS-AAI style) and how credentials are read from requests."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gdi_node.config.trust import Audience
from gdi_node.errors import InvalidInputError
from gdi_node.passport.authorizer import Credentials, RequestFacts, credentials_from
from gdi_node.passport.errors import CredentialError
from tests.support.passport_world import World, open_stack

FACTS = RequestFacts("test.brokers", "127.0.0.1", "req-2")


def test_access_token_visas_come_from_userinfo_and_are_cached(world: World, stack: Any) -> None:
    token = world.broker.access_token("alice", visas=[world.grant()])
    world.peers.reset_counts()
    first = stack.authorizer.principal(Credentials(bearer=token), FACTS)
    second = stack.authorizer.principal(Credentials(bearer=token), FACTS)
    assert first == second
    assert first.identity == (world.broker.issuer, "alice")
    assert stack.authorizer.policy.permit(first, "DS-CTRL", "127.0.0.1").audience is (
        Audience.CONTROLLED
    )
    assert world.peers.requests_to(world.broker.userinfo_url) == 1


def test_a_userinfo_answer_without_visas_is_a_principal_without_visas(
    world: World, stack: Any
) -> None:
    """AAI 1.0 brokers may leave ``ga4gh_passport_v1`` out of /userinfo for a user without
    visas; unlike a passport (where the claim is required) that is no visas, not an error."""
    token = world.broker.access_token("alice", scope="openid")
    principal = stack.authorizer.principal(Credentials(bearer=token), FACTS)
    assert principal.identity == (world.broker.issuer, "alice")
    assert principal.visas == ()


def test_revoked_access_token_is_refused(world: World, stack: Any) -> None:
    token = world.broker.access_token("alice", visas=[world.grant()])
    world.broker.revoke(token)
    with pytest.raises(CredentialError, match="refused the access token"):
        stack.authorizer.principal(Credentials(bearer=token), FACTS)


def test_expired_access_token_is_refused_before_calling_the_broker(
    world: World, stack: Any
) -> None:
    token = world.broker.access_token("alice", exp=int(time.time()) - 600)
    world.peers.reset_counts()
    with pytest.raises(CredentialError, match="expired"):
        stack.authorizer.principal(Credentials(bearer=token), FACTS)
    assert world.peers.requests_to(world.broker.userinfo_url) == 0


def test_access_token_of_an_untrusted_broker_is_refused(world: World, stack: Any) -> None:
    token = world.rogue.access_token("alice", visas=[world.grant()])
    with pytest.raises(CredentialError, match="not a trusted broker"):
        stack.authorizer.principal(Credentials(bearer=token), FACTS)


def test_userinfo_subject_must_match_the_token(world: World, stack: Any) -> None:
    token = world.broker.access_token("alice", visas=[world.grant()])
    world.peers.misbehave(world.broker.userinfo_url, body=b'{"sub": "mallory"}')
    try:
        with pytest.raises(CredentialError, match="subject does not match"):
            stack.authorizer.principal(Credentials(bearer=token), FACTS)
    finally:
        world.peers.heal(world.broker.userinfo_url)


def exchanging_broker(world: World, secret: str) -> dict[str, Any]:
    """The broker configured for RFC 8693 token exchange with client credentials."""
    return {
        "issuer": world.broker.issuer,
        "jwks_urls": [world.broker.jwks_url],
        "token_exchange_url": world.broker.token_url,
        "client_id": "gdi-node",
        "client_secret": secret,
    }


def test_token_exchange_is_used_where_the_broker_offers_it(world: World, tmp_path: Any) -> None:
    broker = exchanging_broker(world, "s3cret")
    token = world.broker.access_token("alice", visas=[world.grant()])
    world.peers.reset_counts()
    with open_stack(world.settings(tmp_path, passport_issuers=[broker])) as exchanging:
        principal = exchanging.authorizer.principal(Credentials(bearer=token), FACTS)
        permit = exchanging.authorizer.policy.permit(principal, "DS-CTRL", "127.0.0.1")
    assert permit.audience is Audience.CONTROLLED
    assert world.peers.requests_to(world.broker.token_url) == 1
    assert world.peers.requests_to(world.broker.userinfo_url) == 0


def test_token_exchange_with_wrong_client_secret_is_refused(world: World, tmp_path: Any) -> None:
    broker = exchanging_broker(world, "wrong")
    token = world.broker.access_token("alice", visas=[world.grant()])
    with (
        open_stack(world.settings(tmp_path, passport_issuers=[broker])) as exchanging,
        pytest.raises(CredentialError, match="refused the token exchange"),
    ):
        exchanging.authorizer.principal(Credentials(bearer=token), FACTS)


def test_opaque_token_goes_to_the_only_broker(world: World, stack: Any) -> None:
    with pytest.raises(CredentialError, match="refused the access token"):
        stack.authorizer.principal(Credentials(bearer="opaque-token-value"), FACTS)


def test_broker_down_fails_closed(world: World, stack: Any) -> None:
    token = world.broker.access_token("alice", visas=[world.grant()])
    world.peers.misbehave(world.broker.userinfo_url, status=503)
    try:
        with pytest.raises(CredentialError):
            stack.authorizer.principal(Credentials(bearer=token), FACTS)
    finally:
        world.peers.heal(world.broker.userinfo_url)


# -- reading credentials ------------------------------------------------------------------------


def test_bearer_token_and_body_passports_together_are_400() -> None:
    with pytest.raises(InvalidInputError, match="not both"):
        credentials_from("Bearer abc", {"passports": ["x.y.z"]})


def test_only_the_bearer_scheme_is_accepted() -> None:
    with pytest.raises(CredentialError, match="Bearer"):
        credentials_from("Basic dXNlcjpwdw==", None)
    with pytest.raises(CredentialError, match="Bearer"):
        credentials_from("Bearer ", None)


def test_body_passports_must_be_a_list() -> None:
    with pytest.raises(CredentialError, match="list"):
        credentials_from(None, {"passports": "x.y.z"})
    assert credentials_from(None, {"passports": ["a.b.c"]}) == Credentials(passports=("a.b.c",))
    assert credentials_from("bearer tok", None) == Credentials(bearer="tok")
    assert credentials_from(None, {"other": 1}) == Credentials()


def test_an_empty_passport_list_is_not_a_credential(stack: Any) -> None:
    with pytest.raises(CredentialError, match="empty list"):
        stack.authorizer.principal(Credentials(passports=()), FACTS)


def test_several_body_passports_are_combined(world: World, stack: Any) -> None:
    first = world.broker.passport("alice", [world.grant()])
    second = world.broker.passport("alice", world.registered())
    principal = stack.authorizer.principal(Credentials(passports=(first, second)), FACTS)
    assert {v.type for v in principal.visas} == {
        "ControlledAccessGrants",
        "AcceptedTermsAndPolicies",
        "ResearcherStatus",
    }
