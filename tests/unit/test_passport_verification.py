"""Passport and visa verification against real issuers on loopback (GA4GH AAI 1.2, Passport
v1.2). Each test is one rule; forged or invalid input must never grant anything."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from gdi_node.config.trust import Audience, Disclosure
from gdi_node.errors import NotFoundError as NotFoundErrorType
from gdi_node.errors import PayloadTooLargeError
from gdi_node.passport.authorizer import Credentials, RequestFacts
from gdi_node.passport.errors import CredentialError
from gdi_node.passport.permits import Permit
from gdi_node.passport.principal import Principal
from tests.support.passport_peers import REMOVE, SigningKey
from tests.support.passport_world import DAC, DATASET_URN, World

FACTS = RequestFacts("test.verify", "127.0.0.1", "req-1")


def principal_of(stack: Any, token: str) -> Principal:
    result: Principal = stack.authorizer.principal(Credentials(bearer=token), FACTS)
    return result


def permit_of(stack: Any, principal: Principal, dataset: str = "DS-CTRL") -> Permit:
    result: Permit = stack.authorizer.policy.permit(principal, dataset, "127.0.0.1")
    return result


def reasons(principal: Principal) -> str:
    return " | ".join(reason for _, reason in principal.ignored)


def b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


# -- the happy path --------------------------------------------------------------------------


def test_valid_grant_gives_controlled_access(world: World, stack: Any) -> None:
    principal = principal_of(stack, world.broker.passport("alice", [world.grant()]))
    assert principal.identity == (world.broker.issuer, "alice")
    permit = permit_of(stack, principal)
    assert permit.audience is Audience.CONTROLLED
    assert permit.disclosure is Disclosure.FILE


def test_es256_visas_verify(world: World, stack: Any) -> None:
    visas = world.registered()
    principal = principal_of(stack, world.broker.passport("alice", visas))
    assert principal.ignored == ()
    assert permit_of(stack, principal, "DS-REG").audience is Audience.REGISTERED


def test_no_credential_is_the_anonymous_principal(stack: Any) -> None:
    principal = stack.authorizer.principal(Credentials(), FACTS)
    assert principal.is_anonymous
    assert permit_of(stack, principal).disclosure is Disclosure.BOOLEAN


# -- transport and limits ---------------------------------------------------------------------


def test_jwks_over_plain_http_is_refused_outside_tests(world: World, tmp_path: Any) -> None:
    from tests.support.passport_world import open_stack

    settings = world.settings(tmp_path, allow_insecure_http=True)
    settings = settings.model_copy(
        update={"trust": settings.trust.model_copy(update={"allow_insecure_http": False})}
    )
    with open_stack(settings) as insecure, pytest.raises(CredentialError, match="only https"):
        principal_of(insecure, world.broker.passport("alice", []))


def test_oversized_jwks_is_refused(world: World, stack: Any) -> None:
    world.peers.misbehave(world.broker.jwks_url, body=b'{"keys": [' + b" " * 400_000 + b"]}")
    try:
        with pytest.raises(CredentialError, match="more than"):
            principal_of(stack, world.broker.passport("alice", []))
    finally:
        world.peers.heal(world.broker.jwks_url)


def test_slow_jwks_times_out(world: World, tmp_path: Any) -> None:
    from tests.support.passport_world import open_stack

    world.peers.misbehave(world.broker.jwks_url, delay=2)
    try:
        with (
            open_stack(world.settings(tmp_path, http_timeout_seconds=0.3)) as quick,
            pytest.raises(CredentialError, match="could not be fetched"),
        ):
            principal_of(quick, world.broker.passport("alice", []))
    finally:
        world.peers.heal(world.broker.jwks_url)


def test_cross_host_redirect_is_not_followed(world: World, stack: Any) -> None:
    elsewhere = world.broker.jwks_url.replace("127.0.0.1", "localhost")
    world.peers.misbehave(world.broker.jwks_url, redirect_to=elsewhere)
    try:
        with pytest.raises(CredentialError, match="redirects to another host"):
            principal_of(stack, world.broker.passport("alice", []))
    finally:
        world.peers.heal(world.broker.jwks_url)


def test_same_host_redirect_is_followed(world: World, tmp_path: Any) -> None:
    from tests.support.passport_world import open_stack

    moved = f"{world.broker.issuer}/old-jwks"
    world.peers.misbehave(moved, redirect_to=world.broker.jwks_url)
    broker = {"issuer": world.broker.issuer, "jwks_urls": [moved]}
    try:
        with open_stack(world.settings(tmp_path, passport_issuers=[broker])) as redirected:
            principal = principal_of(redirected, world.broker.passport("alice", []))
    finally:
        world.peers.heal(moved)
    assert principal.identity == (world.broker.issuer, "alice")


def test_too_many_visas_is_413(world: World, stack: Any) -> None:
    visa = world.grant()
    with pytest.raises(PayloadTooLargeError, match="more than 100 visas"):
        stack.authorizer.verifier.verify_visas([visa] * 101)


def test_oversized_visa_is_413(world: World, stack: Any) -> None:
    big = world.grant(extra_claims={"padding": "x" * 20_000})
    with pytest.raises(PayloadTooLargeError, match="visa is larger"):
        principal_of(stack, world.broker.passport("alice", [big]))


def test_oversized_passport_is_413(world: World, stack: Any) -> None:
    token = world.broker.passport("alice", [], extra_claims={"padding": "x" * 70_000})
    with pytest.raises(PayloadTooLargeError, match="passport is larger"):
        stack.authorizer.principal(Credentials(passports=(token,)), FACTS)


def test_too_many_distinct_jku_is_refused(world: World, tmp_path: Any) -> None:
    from tests.support.passport_world import open_stack

    urls = [f"{world.rems.jwks_url}?n={n}" for n in range(3)]
    settings = world.settings(
        tmp_path,
        visa_issuers=[{"issuer": world.rems.issuer, "jwks_urls": [world.rems.jwks_url, *urls]}],
        limits={"max_jku_per_request": 2},
    )
    visas = [world.grant(header_overrides={"jku": url}) for url in urls]
    with open_stack(settings) as limited, pytest.raises(CredentialError, match="distinct key set"):
        principal_of(limited, world.broker.passport("alice", visas))


# -- malformed passports --------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "!!!.???.sig", f"{b64([1])}.{b64({})}.c2ln"],
)
def test_malformed_passport_is_refused(stack: Any, token: str) -> None:
    with pytest.raises(CredentialError):
        stack.authorizer.principal(Credentials(passports=(token,)), FACTS)


def test_passport_needs_the_passport_typ(world: World, stack: Any) -> None:
    token = world.broker.passport("alice", [world.grant()], typ="JWT")
    # a bearer JWT that is not a passport is treated as a broker access token
    with pytest.raises(CredentialError):
        principal_of(stack, token)
    with pytest.raises(CredentialError, match="typ"):
        stack.authorizer.principal(Credentials(passports=(token,)), FACTS)


def test_visa_list_must_be_a_list(world: World, stack: Any) -> None:
    token = world.broker.passport("alice", [], extra_claims={"ga4gh_passport_v1": "nope"})
    with pytest.raises(CredentialError, match="not a list"):
        principal_of(stack, token)


def test_a_visa_that_is_not_a_jwt_is_ignored(world: World, stack: Any) -> None:
    principal = principal_of(stack, world.broker.passport("alice", ["not-a-jwt", world.grant()]))
    assert "malformed visa" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.CONTROLLED


# -- algorithm attacks ------------------------------------------------------------------------


def _claims(world: World, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": world.broker.issuer, "sub": "alice", "iat": now, "exp": now + 600}
    return {**base, "ga4gh_passport_v1": [], **extra}


def test_alg_none_is_refused(world: World, stack: Any) -> None:
    token = world.broker.sign({"alg": "none", "typ": "vnd.ga4gh.passport+jwt"}, _claims(world))
    with pytest.raises(CredentialError, match="algorithm 'none'"):
        principal_of(stack, token)


def test_hs256_signed_with_the_public_key_is_refused(world: World, stack: Any) -> None:
    import hashlib
    import hmac

    public_key = world.broker.key_set().keys[0]
    assert isinstance(public_key, SigningKey)  # RSA or EC: a key with a PEM form
    public_pem = public_key.as_pem(private=False)
    header = {"alg": "HS256", "typ": "vnd.ga4gh.passport+jwt", "kid": world.broker.active_kid}
    signing_input = f"{b64(header)}.{b64(_claims(world))}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(CredentialError, match="algorithm 'HS256'"):
        principal_of(stack, token)


def forged(world: World, **header: Any) -> str:
    """A passport whose header says what the test wants (the signature cannot match)."""
    base = {"alg": "RS256", "typ": "vnd.ga4gh.passport+jwt", "kid": world.broker.active_kid}
    merged = {k: v for k, v in {**base, **header}.items() if v is not REMOVE}
    return f"{b64(merged)}.{b64(_claims(world))}.c2lnbmF0dXJl"


@pytest.mark.parametrize("alg", ["RS512", "PS256", "ES384", "EdDSA", "HS512", "NONE", None])
def test_other_algorithms_are_refused(world: World, stack: Any, alg: str | None) -> None:
    with pytest.raises(CredentialError, match="is not accepted"):
        principal_of(stack, forged(world, alg=alg))


@pytest.mark.parametrize("member", ["jwk", "x5u", "x5c", "crit"])
def test_keys_carried_in_the_token_are_refused(world: World, stack: Any, member: str) -> None:
    value: Any = {"kty": "oct", "k": "c2VjcmV0"} if member == "jwk" else ["https://evil/x"]
    token = world.broker.passport("alice", [], header_overrides={member: value})
    with pytest.raises(CredentialError, match="not accepted"):
        principal_of(stack, token)


def test_kid_is_required(world: World, stack: Any) -> None:
    with pytest.raises(CredentialError, match="kid"):
        principal_of(stack, forged(world, kid=REMOVE))


def test_a_missing_signature_is_refused(world: World, stack: Any) -> None:
    unsigned = world.broker.passport("alice", []).rsplit(".", 1)[0] + "."
    with pytest.raises(CredentialError, match="no signature"):
        principal_of(stack, unsigned)


def test_tampered_payload_fails_the_signature(world: World, stack: Any) -> None:
    header, _, signature = world.broker.passport("alice", [world.grant()]).split(".")
    forged = f"{header}.{b64(_claims(world, sub='mallory'))}.{signature}"
    with pytest.raises(CredentialError, match="signature"):
        principal_of(stack, forged)


# -- untrusted issuers and keys ----------------------------------------------------------------


def test_passport_from_an_untrusted_issuer_is_refused(world: World, stack: Any) -> None:
    with pytest.raises(CredentialError, match="not trusted"):
        principal_of(stack, world.rogue.passport("alice", [world.grant()]))


def test_visa_from_an_untrusted_issuer_is_ignored(world: World, stack: Any) -> None:
    rogue = world.rogue.visa("alice", "ControlledAccessGrants", DATASET_URN, DAC, by="dac")
    principal = principal_of(stack, world.broker.passport("alice", [rogue]))
    assert "not trusted" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_a_trusted_issuers_name_signed_with_another_key_is_refused(
    world: World, stack: Any
) -> None:
    """A rogue signs with its own key but claims the broker as issuer, naming the rogue's kid."""
    header = {"typ": "vnd.ga4gh.passport+jwt"}
    token = world.rogue.sign(header, _claims(world))
    with pytest.raises(CredentialError, match="no key"):
        principal_of(stack, token)


def test_jku_outside_the_allowlist_is_never_fetched(world: World, stack: Any) -> None:
    evil_jwks = world.rogue.jwks_url
    forged = world.rogue.sign(
        {"typ": "vnd.ga4gh.visa+jwt", "jku": evil_jwks},
        {
            "iss": world.rems.issuer,
            "sub": "alice",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
            "jti": "forged",
            "ga4gh_visa_v1": {
                "type": "ControlledAccessGrants",
                "value": DATASET_URN,
                "source": DAC,
                "by": "dac",
                "asserted": 1,
            },
        },
    )
    world.peers.reset_counts()
    principal = principal_of(stack, world.broker.passport("alice", [forged]))
    assert "is not allowed for issuer" in reasons(principal)
    assert world.peers.requests_to(evil_jwks) == 0
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_jku_of_another_trusted_issuer_is_not_allowed(world: World, stack: Any) -> None:
    visa = world.grant(header_overrides={"jku": world.aai.jwks_url})
    world.peers.reset_counts()
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "is not allowed for issuer" in reasons(principal)
    assert world.peers.requests_to(world.aai.jwks_url) == 0


def test_key_rotation_is_picked_up_with_one_refetch(world: World, tmp_path: Any) -> None:
    from tests.support.passport_world import open_stack

    with open_stack(world.settings(tmp_path, jwks_min_refetch_seconds=0)) as eager:
        principal_of(eager, world.broker.passport("alice", []))
        world.broker.rotate()
        world.peers.reset_counts()
        token = world.broker.passport("alice", [])
        assert principal_of(eager, token).identity == (world.broker.issuer, "alice")
        bob = principal_of(eager, world.broker.passport("bob", []))
        assert bob.identity == (world.broker.issuer, "bob")
    assert world.peers.requests_to(world.broker.jwks_url) == 1


def test_unknown_kid_refetch_is_rate_limited(world: World, stack: Any) -> None:
    principal_of(stack, world.broker.passport("alice", []))
    world.peers.reset_counts()
    for _ in range(5):
        token = world.broker.sign(
            {"typ": "vnd.ga4gh.passport+jwt", "kid": "never-published"}, _claims(world)
        )
        with pytest.raises(CredentialError, match="no key"):
            principal_of(stack, token)
    assert world.peers.requests_to(world.broker.jwks_url) <= 1


# -- claims, expiry and clock skew --------------------------------------------------------------


@pytest.mark.parametrize("claim", ["iss", "sub", "iat", "exp"])
def test_required_claims_must_be_present(world: World, stack: Any, claim: str) -> None:
    token = world.broker.passport("alice", [], extra_claims={claim: REMOVE})
    with pytest.raises(CredentialError):
        principal_of(stack, token)


def test_exp_must_be_a_number(world: World, stack: Any) -> None:
    token = world.broker.passport("alice", [], extra_claims={"exp": "tomorrow"})
    with pytest.raises(CredentialError, match="not a number"):
        principal_of(stack, token)


def test_expired_passport_is_refused(world: World, stack: Any) -> None:
    now = int(time.time())
    with pytest.raises(CredentialError, match="expired"):
        principal_of(stack, world.broker.passport("alice", [], iat=now - 900, exp=now - 120))


def test_expiry_within_the_clock_skew_is_tolerated(world: World, stack: Any) -> None:
    now = int(time.time())
    token = world.broker.passport("alice", [], iat=now - 900, exp=now - 30)
    assert not principal_of(stack, token).is_anonymous


def test_iat_in_the_future_is_refused(world: World, stack: Any) -> None:
    now = int(time.time())
    with pytest.raises(CredentialError, match="future"):
        principal_of(stack, world.broker.passport("alice", [], iat=now + 600, exp=now + 1200))


def test_nbf_in_the_future_is_refused(world: World, stack: Any) -> None:
    token = world.broker.passport("alice", [], extra_claims={"nbf": int(time.time()) + 600})
    with pytest.raises(CredentialError, match="not valid yet"):
        principal_of(stack, token)


def test_aud_must_name_the_node_when_present(world: World, stack: Any) -> None:
    with pytest.raises(CredentialError, match="aud"):
        principal_of(stack, world.broker.passport("alice", [], aud="someone-else"))
    assert not principal_of(
        stack, world.broker.passport("alice", [], aud=["x", "gdi-node"])
    ).is_anonymous


def test_expired_visa_is_ignored(world: World, stack: Any) -> None:
    now = int(time.time())
    visa = world.grant(iat=now - 7200, exp=now - 3600)
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "expired" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


# -- visa rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["type", "asserted", "value", "source"])
def test_visa_object_claims_are_required(world: World, stack: Any, claim: str) -> None:
    visa = world.grant(extra_visa={claim: REMOVE})
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS
    assert principal.ignored


@pytest.mark.parametrize("visa_type", ["ControlledAccessGrants", "AcceptedTermsAndPolicies"])
def test_by_is_required_where_the_type_requires_it(
    world: World, stack: Any, visa_type: str
) -> None:
    visa = world.rems.visa("alice", visa_type, DATASET_URN, DAC)
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "must say 'by'" in reasons(principal)


def test_value_longer_than_255_characters_is_ignored(world: World, stack: Any) -> None:
    visa = world.grant(value="urn:gdi:" + "x" * 250)
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "longer than 255" in reasons(principal)


def test_value_is_an_exact_case_sensitive_string(world: World, stack: Any) -> None:
    for near_miss in (DATASET_URN.upper(), DATASET_URN + "/", " " + DATASET_URN):
        principal = principal_of(
            stack, world.broker.passport("alice", [world.grant(value=near_miss)])
        )
        assert permit_of(stack, principal).audience is Audience.ANONYMOUS, near_miss


def test_source_must_be_a_dac_trusted_for_the_dataset(world: World, stack: Any) -> None:
    visa = world.rems.visa("alice", "ControlledAccessGrants", DATASET_URN, DAC + "/other", by="dac")
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert principal.visas  # valid, just not a grant for this dataset
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_unknown_visa_types_are_ignored(world: World, stack: Any) -> None:
    custom = world.rems.visa("alice", "https://example.org/visaTypes/fancy", "x", DAC, by="dac")
    principal = principal_of(stack, world.broker.passport("alice", [custom, world.grant()]))
    assert "not used by this node" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.CONTROLLED


def test_visa_access_token_is_accepted(world: World, stack: Any) -> None:
    visa = world.aai.visa(
        "alice",
        "ResearcherStatus",
        "https://doi.org/10.1038/s41431-018-0219-y",
        world.aai.issuer,
        by="so",
        form="access",
    )
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert [v.type for v in principal.visas] == ["ResearcherStatus"]


def test_visa_document_token_must_not_have_openid_scope(world: World, stack: Any) -> None:
    visa = world.grant(extra_claims={"scope": "openid profile"})
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "must not have the openid scope" in reasons(principal)


def test_visa_access_token_must_not_have_aud(world: World, stack: Any) -> None:
    visa = world.aai.visa(
        "alice",
        "ResearcherStatus",
        "x",
        world.aai.issuer,
        by="so",
        form="access",
        extra_claims={"aud": "gdi-node"},
    )
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "must not have 'aud'" in reasons(principal)


def test_visa_without_jku_or_openid_scope_is_ignored(world: World, stack: Any) -> None:
    visa = world.grant(header_overrides={"jku": REMOVE})
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "neither a jku" in reasons(principal)


def test_old_visa_access_token_is_polled_and_revocation_honoured(world: World, stack: Any) -> None:
    now = int(time.time())
    fresh = world.aai.visa(
        "alice",
        "ResearcherStatus",
        "x",
        world.aai.issuer,
        by="so",
        form="access",
        iat=now - 7200,
        exp=now + 3600,
    )
    world.peers.reset_counts()
    assert principal_of(stack, world.broker.passport("alice", [fresh])).visas
    assert world.peers.requests_to(world.aai.userinfo_url) == 1
    revoked = world.aai.visa(
        "alice",
        "ResearcherStatus",
        "x",
        world.aai.issuer,
        by="so",
        form="access",
        iat=now - 7200,
        exp=now + 3600,
    )
    world.aai.revoke(revoked)
    principal = principal_of(stack, world.broker.passport("alice", [revoked]))
    assert "not confirmed by its issuer" in reasons(principal)


# -- conditions ---------------------------------------------------------------------------------

AFFILIATION = {"type": "AffiliationAndRole", "value": "const:faculty@uni.example", "by": "const:so"}


def affiliation(world: World, value: str = "faculty@uni.example", sub: str = "alice") -> str:
    """An AffiliationAndRole visa of the same identity as ``world.grant`` (iss rems, sub)."""
    return world.rems.visa(sub, "AffiliationAndRole", value, world.rems.issuer, by="so")


def test_condition_met_by_another_valid_visa(world: World, stack: Any) -> None:
    grant = world.grant(sub="alice", conditions=[[AFFILIATION]])
    principal = principal_of(stack, world.broker.passport("alice", [grant, affiliation(world)]))
    assert permit_of(stack, principal).audience is Audience.CONTROLLED


def test_condition_not_met_drops_the_visa(world: World, stack: Any) -> None:
    grant = world.grant(conditions=[[AFFILIATION]])
    principal = principal_of(
        stack, world.broker.passport("alice", [grant, affiliation(world, "student@uni.example")])
    )
    assert "conditions not met" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


@pytest.mark.parametrize(
    ("rule", "granted"),
    [
        ("pattern:faculty@*.example", True),
        ("pattern:faculty@un?.example", True),
        ("pattern:faculty@*.org", False),
        ("split_pattern:faculty@uni.exampl?", True),
        ("regex:faculty@.*", False),  # unknown prefix: the clause fails
        ("faculty@uni.example", False),  # no prefix at all
    ],
)
def test_condition_match_types(world: World, stack: Any, rule: str, granted: bool) -> None:
    clause = {"type": "AffiliationAndRole", "value": rule}
    grant = world.grant(conditions=[[clause]])
    principal = principal_of(stack, world.broker.passport("alice", [grant, affiliation(world)]))
    audience = permit_of(stack, principal).audience
    assert (audience is Audience.CONTROLLED) is granted


def test_split_pattern_matches_any_semicolon_part(world: World, stack: Any) -> None:
    clause = {"type": "AffiliationAndRole", "value": "split_pattern:member@b.example"}
    grant = world.grant(conditions=[[clause]])
    combined = affiliation(world, "faculty@a.example;member@b.example")
    principal = principal_of(stack, world.broker.passport("alice", [grant, combined]))
    assert permit_of(stack, principal).audience is Audience.CONTROLLED


def test_one_clause_must_be_met_by_one_single_visa(world: World, stack: Any) -> None:
    clause = {
        "type": "AffiliationAndRole",
        "value": "const:faculty@uni.example",
        "source": f"const:{DAC}",
    }
    grant = world.grant(conditions=[[clause]])
    # value matches one visa and source matches another: not one single visa
    other = world.rems.visa("alice", "AffiliationAndRole", "student@x", DAC, by="so")
    principal = principal_of(
        stack, world.broker.passport("alice", [grant, affiliation(world), other])
    )
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_a_conditioned_visa_cannot_satisfy_a_condition(world: World, stack: Any) -> None:
    conditioned_affiliation = world.rems.visa(
        "alice",
        "AffiliationAndRole",
        "faculty@uni.example",
        world.rems.issuer,
        by="so",
        conditions=[[{"type": "ResearcherStatus", "value": "const:x"}]],
    )
    grant = world.grant(conditions=[[AFFILIATION]])
    principal = principal_of(
        stack, world.broker.passport("alice", [grant, conditioned_affiliation])
    )
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_conditions_are_disjunctive_normal_form(world: World, stack: Any) -> None:
    impossible = {"type": "ResearcherStatus", "value": "const:nobody"}
    grant = world.grant(conditions=[[AFFILIATION, impossible], [AFFILIATION]])
    principal = principal_of(stack, world.broker.passport("alice", [grant, affiliation(world)]))
    assert permit_of(stack, principal).audience is Audience.CONTROLLED
    and_only = world.grant(conditions=[[AFFILIATION, impossible]])
    principal = principal_of(stack, world.broker.passport("alice", [and_only, affiliation(world)]))
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


@pytest.mark.parametrize(
    "clause",
    [
        {"value": "const:faculty@uni.example"},  # no type
        {"type": "AffiliationAndRole"},  # nothing but the type
        {"type": "AffiliationAndRole", "asserted": "const:1"},  # timestamps are not allowed
        {"type": "AffiliationAndRole", "conditions": "const:x"},  # no nesting
    ],
)
def test_malformed_condition_clauses_fail(world: World, stack: Any, clause: dict[str, str]) -> None:
    grant = world.grant(conditions=[[clause]])
    principal = principal_of(stack, world.broker.passport("alice", [grant, affiliation(world)]))
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


# -- identities ---------------------------------------------------------------------------------


def test_a_condition_is_not_met_by_another_identitys_visa(world: World, stack: Any) -> None:
    from urllib.parse import quote

    grant = world.grant(conditions=[[AFFILIATION]])
    elsewhere = world.aai.visa(
        "alice", "AffiliationAndRole", "faculty@uni.example", world.aai.issuer, by="so"
    )
    unlinked = principal_of(stack, world.broker.passport("alice", [grant, elsewhere]))
    assert permit_of(stack, unlinked).audience is Audience.ANONYMOUS
    link = world.aai.visa(
        "alice",
        "LinkedIdentities",
        f"alice,{quote(world.rems.issuer, safe='')}",
        world.aai.issuer,
        by="system",
    )
    linked = principal_of(stack, world.broker.passport("alice", [grant, elsewhere, link]))
    assert permit_of(stack, linked).audience is Audience.CONTROLLED


def test_registered_access_needs_both_visas_of_one_identity(world: World, stack: Any) -> None:
    terms, status = world.registered()
    only_one = principal_of(stack, world.broker.passport("alice", [terms]))
    assert permit_of(stack, only_one, "DS-REG").audience is Audience.ANONYMOUS
    _, other_status = world.registered(sub="alice-elsewhere")
    unlinked = principal_of(stack, world.broker.passport("alice", [terms, other_status]))
    assert permit_of(stack, unlinked, "DS-REG").audience is Audience.ANONYMOUS
    both = principal_of(stack, world.broker.passport("alice", [terms, status]))
    assert permit_of(stack, both, "DS-REG").audience is Audience.REGISTERED


def test_linked_identities_from_a_trusted_linker_combine_visas(world: World, stack: Any) -> None:
    from urllib.parse import quote

    terms = world.aai.visa(
        "alice",
        "AcceptedTermsAndPolicies",
        "https://doi.org/10.1038/s41431-018-0219-y",
        world.aai.issuer,
        by="self",
    )
    status = world.rems.visa(
        "a-17", "ResearcherStatus", "https://doi.org/10.1038/s41431-018-0219-y", DAC, by="so"
    )
    value = f"{quote('a-17', safe='')},{quote(world.rems.issuer, safe='')}"
    link = world.aai.visa("alice", "LinkedIdentities", value, world.aai.issuer, by="system")
    linked = principal_of(stack, world.broker.passport("alice", [terms, status, link]))
    assert permit_of(stack, linked, "DS-REG").audience is Audience.REGISTERED
    untrusted_link = world.rems.visa(
        "a-17", "LinkedIdentities", f"alice,{quote(world.aai.issuer, safe='')}", DAC, by="system"
    )
    refused = principal_of(stack, world.broker.passport("alice", [terms, status, untrusted_link]))
    assert "not trusted to link" in reasons(refused)
    assert permit_of(stack, refused, "DS-REG").audience is Audience.ANONYMOUS


# -- policy and expiry ----------------------------------------------------------------------------


def test_a_grant_for_another_dataset_grants_nothing_here(world: World, stack: Any) -> None:
    principal = principal_of(
        stack, world.broker.passport("alice", [world.grant(value="urn:gdi:other")])
    )
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_residency_caps_record_level_access_to_aggregates(world: World, stack: Any) -> None:
    principal = principal_of(stack, world.broker.passport("alice", [world.grant()]))
    abroad = stack.authorizer.policy.permit(principal, "DS-CTRL", "192.0.2.10")
    assert abroad.audience is Audience.CONTROLLED
    assert abroad.disclosure is Disclosure.COUNT
    assert not abroad.residency_ok
    public = stack.authorizer.policy.permit(principal, "DS-OPEN", "192.0.2.10")
    assert public.disclosure is Disclosure.FILE


def test_permit_expires_with_the_earliest_visa_used(world: World, stack: Any) -> None:
    now = int(time.time())
    soon = world.grant(exp=now + 300)
    later = world.grant(exp=now + 9000)
    principal = principal_of(stack, world.broker.passport("alice", [later, soon], exp=now + 20000))
    assert permit_of(stack, principal).expires_at == now + 300
    terms, status = world.registered()
    registered = principal_of(stack, world.broker.passport("alice", [terms, status]))
    permit = permit_of(stack, registered, "DS-REG")
    assert permit.expires_at == min(v.exp for v in registered.visas)


def test_hidden_dataset_is_404_without_a_grant(world: World, stack: Any) -> None:
    from gdi_node.errors import NotFoundError

    anonymous = Principal.anonymous()
    permit = permit_of(stack, anonymous, "DS-HIDDEN")
    with pytest.raises(NotFoundError):
        permit.require(Disclosure.BOOLEAN, anonymous)
    with pytest.raises(NotFoundError):
        stack.authorizer.policy.permit(anonymous, "DS-NOPE", None)


def test_documented_statuses_401_for_anonymous_403_for_authenticated(
    world: World, stack: Any
) -> None:
    from gdi_node.errors import ForbiddenError, UnauthorizedError

    anonymous = Principal.anonymous()
    with pytest.raises(UnauthorizedError):
        stack.authorizer.decide(anonymous, "DS-CTRL", FACTS, level=Disclosure.FILE)
    registered = principal_of(stack, world.broker.passport("alice", world.registered()))
    with pytest.raises(ForbiddenError, match="allow count access"):
        stack.authorizer.decide(registered, "DS-CTRL", FACTS, level=Disclosure.FILE)
    granted = principal_of(stack, world.broker.passport("alice", [world.grant()]))
    permit = stack.authorizer.decide(granted, "DS-CTRL", FACTS, level=Disclosure.FILE)
    assert permit.allows(Disclosure.RECORD)
    with pytest.raises(NotFoundErrorType):
        stack.authorizer.decide(granted, "DS-UNKNOWN", FACTS, level=Disclosure.BOOLEAN)


# -- Passport 1.2 / AAI 1.2 rules on asserted, typ, AffiliationAndRole and the passport claim ------


@pytest.mark.parametrize("asserted", [0, -1, -1_700_000_000])
def test_visa_asserted_must_be_a_positive_time(world: World, stack: Any, asserted: int) -> None:
    principal = principal_of(
        stack, world.broker.passport("alice", [world.grant(asserted=asserted)])
    )
    assert "'asserted' is not a positive time" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_visa_asserted_in_the_future_beyond_the_clock_skew_is_ignored(
    world: World, stack: Any
) -> None:
    now = int(time.time())
    future = world.grant(asserted=now + 3600)
    principal = principal_of(stack, world.broker.passport("alice", [future]))
    assert "'asserted' is in the future" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS
    within_skew = world.grant(asserted=now + 20, iat=now + 20)  # clocks 20 s apart (skew 60 s)
    principal = principal_of(stack, world.broker.passport("alice", [within_skew]))
    assert permit_of(stack, principal).audience is Audience.CONTROLLED


def test_visa_asserted_later_than_its_iat_is_ignored(world: World, stack: Any) -> None:
    """Passport v1.2 "asserted": the assertion is made before the visa recording it is minted
    (``iat``); a visa claiming otherwise grants nothing."""
    now = int(time.time())
    visa = world.grant(iat=now - 600, asserted=now - 300)
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert "'asserted' is later than the visa's 'iat'" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS
    same_second = world.grant(iat=now - 600, asserted=now - 600)
    principal = principal_of(stack, world.broker.passport("alice", [same_second]))
    assert permit_of(stack, principal).audience is Audience.CONTROLLED


def _registered_access_token(world: World, typ: Any) -> str:
    return world.aai.visa(
        "alice",
        "ResearcherStatus",
        "https://doi.org/10.1038/s41431-018-0219-y",
        world.aai.issuer,
        by="so",
        form="access",
        header_overrides={"typ": typ},
    )


@pytest.mark.parametrize(
    ("form", "typ"),
    [
        ("document", "vnd.ga4gh.passport+jwt"),  # a passport is not a visa
        ("document", "at+jwt"),  # an access token's typ on a document token
        ("document", "secevent+jwt"),
        ("document", 7),
        ("access", "vnd.ga4gh.passport+jwt"),
        ("access", "vnd.ga4gh.visa+jwt"),  # the document token's typ on an access token
    ],
)
def test_a_visa_whose_typ_names_another_kind_of_token_is_ignored(
    world: World, stack: Any, form: str, typ: Any
) -> None:
    """Passport v1.2 Visa Format "typ": vnd.ga4gh.visa+jwt (or JWT) for Visa Document Tokens,
    the access token typ (at+jwt, or JWT) for Visa Access Tokens; optional."""
    if form == "document":
        visa = world.grant(header_overrides={"typ": typ})
    else:
        visa = _registered_access_token(world, typ)
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert f"is not the typ of a visa {form} token" in reasons(principal)
    assert principal.visas == ()


@pytest.mark.parametrize(
    ("form", "typ"),
    [
        ("document", "vnd.ga4gh.visa+jwt"),
        ("document", "application/vnd.ga4gh.visa+JWT"),  # RFC 7515 4.1.9: prefix, any case
        ("document", "JWT"),
        ("document", REMOVE),  # typ is optional
        ("access", "at+jwt"),
        ("access", "JWT"),
        ("access", REMOVE),
    ],
)
def test_the_visa_typs_the_spec_allows_are_accepted(
    world: World, stack: Any, form: str, typ: Any
) -> None:
    if form == "document":
        visa = world.grant(header_overrides={"typ": typ})
    else:
        visa = _registered_access_token(world, typ)
    principal = principal_of(stack, world.broker.passport("alice", [visa]))
    assert principal.ignored == ()
    assert len(principal.visas) == 1


@pytest.mark.parametrize("value", ["faculty", "faculty@", "@uni.example"])
def test_affiliation_and_role_without_role_at_affiliation_is_not_a_valid_visa(
    world: World, stack: Any, value: str
) -> None:
    """Passport v1.2 AffiliationAndRole is ``role@affiliation``; a value that cannot be split
    at its first ``@`` is an error, so the visa is ignored and cannot satisfy a condition."""
    clause = {"type": "AffiliationAndRole", "value": "pattern:*"}
    grant = world.grant(conditions=[[clause]])
    principal = principal_of(
        stack, world.broker.passport("alice", [grant, affiliation(world, value)])
    )
    assert "AffiliationAndRole value is not 'role@affiliation'" in reasons(principal)
    assert permit_of(stack, principal).audience is Audience.ANONYMOUS


def test_a_passport_without_the_passport_claim_is_not_a_passport(world: World, stack: Any) -> None:
    """AAI 1.2 Passport Format: ``ga4gh_passport_v1`` is REQUIRED (an empty list is fine)."""
    token = world.broker.passport("alice", [], extra_claims={"ga4gh_passport_v1": REMOVE})
    with pytest.raises(CredentialError, match="must have the 'ga4gh_passport_v1' claim"):
        principal_of(stack, token)
    with pytest.raises(CredentialError, match="must have the 'ga4gh_passport_v1' claim"):
        stack.authorizer.principal(Credentials(passports=(token,)), FACTS)
    assert principal_of(stack, world.broker.passport("alice", [])).visas == ()
