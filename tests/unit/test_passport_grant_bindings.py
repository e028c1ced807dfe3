"""Visa issuers are bound to the DACs they speak for (GA4GH Passport v1.2, General
Requirements 8.3: trust in the broker, the visa issuer and the assertion source together;
decision record 0010). Real issuers on loopback; each test is one rule."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gdi_node.config.trust import Audience
from gdi_node.passport.authorizer import Credentials, RequestFacts
from gdi_node.passport.permits import Permit
from gdi_node.passport.principal import Principal
from tests.support.passport_world import DAC, DATASET_URN, World, open_stack

FACTS = RequestFacts("test.grants", "127.0.0.1", "req-grants")


def principal_of(stack: Any, token: str) -> Principal:
    result: Principal = stack.authorizer.principal(Credentials(bearer=token), FACTS)
    return result


def permit_of(stack: Any, principal: Principal, dataset: str = "DS-CTRL") -> Permit:
    result: Permit = stack.authorizer.policy.permit(principal, dataset, "127.0.0.1")
    return result


def rems_bound(world: World, **binding: Any) -> dict[str, Any]:
    """The rems visa issuer entry, bound to DAC as ``binding`` says (none: unbound)."""
    entry: dict[str, Any] = {"issuer": world.rems.issuer, "jwks_urls": [world.rems.jwks_url]}
    if binding:
        entry["grant_sources"] = [{"source": DAC, **binding}]
    return entry


def test_a_grant_signed_by_the_issuer_bound_to_its_dac_grants(world: World, stack: Any) -> None:
    principal = principal_of(stack, world.broker.passport("alice", [world.grant(jti="rems-1")]))
    permit = permit_of(stack, principal)
    assert permit.audience is Audience.CONTROLLED
    assert [v.visa_id for v in permit.visas_used] == ["rems-1"]
    assert permit.refused_grants == ()


@pytest.mark.parametrize("signer", ["aai", "broker"])
def test_a_grant_from_a_trusted_issuer_not_bound_to_the_dac_grants_nothing(
    world: World, stack: Any, signer: str
) -> None:
    """The same grant (value, source DAC, by dac), signed by another trusted visa issuer: the
    AAI, or the broker that issued the passport. The visa verifies but is refused."""
    issuer = getattr(world, signer)
    grant = issuer.visa("alice", "ControlledAccessGrants", DATASET_URN, DAC, by="dac", jti="x-1")
    principal = principal_of(stack, world.broker.passport("alice", [grant]))
    assert [v.visa_id for v in principal.visas] == ["x-1"]  # a valid visa ...
    permit = permit_of(stack, principal)
    assert permit.audience is Audience.ANONYMOUS  # ... that grants nothing here
    assert [(v.visa_id, v.iss) for v in permit.refused_grants] == [("x-1", issuer.issuer)]
    assert permit.visas_used == ()


def test_a_bound_grant_is_used_and_an_unbound_one_beside_it_is_still_refused(
    world: World, stack: Any
) -> None:
    unbound = world.aai.visa("alice", "ControlledAccessGrants", DATASET_URN, DAC, by="dac")
    passport = world.broker.passport("alice", [unbound, world.grant(jti="rems-2")])
    permit = permit_of(stack, principal_of(stack, passport))
    assert permit.audience is Audience.CONTROLLED
    assert [v.visa_id for v in permit.visas_used] == ["rems-2"]
    assert [v.iss for v in permit.refused_grants] == [world.aai.issuer]


def test_an_issuer_bound_to_no_source_grants_nothing_and_is_reported_at_start(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A configuration written before bindings existed fails closed, and says so in the log."""
    settings = world.settings(tmp_path, visa_issuers=[rems_bound(world)])
    with caplog.at_level(logging.WARNING), open_stack(settings) as unbound:
        permit = permit_of(
            unbound, principal_of(unbound, world.broker.passport("a", [world.grant()]))
        )
    assert permit.audience is Audience.ANONYMOUS
    assert len(permit.refused_grants) == 1
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert f"dataset DS-CTRL: no visa issuer is bound to DAC source {DAC}" in warned


def test_a_binding_limited_to_datasets_grants_only_those(world: World, tmp_path: Path) -> None:
    settings = world.settings(tmp_path, visa_issuers=[rems_bound(world, datasets=["DS-HIDDEN"])])
    both = [world.grant(), world.grant(value="DS-HIDDEN")]
    with open_stack(settings) as limited:
        principal = principal_of(limited, world.broker.passport("alice", both))
        assert permit_of(limited, principal, "DS-HIDDEN").audience is Audience.CONTROLLED
        refused = permit_of(limited, principal, "DS-CTRL")
    assert refused.audience is Audience.ANONYMOUS
    assert [v.value for v in refused.refused_grants] == [DATASET_URN]


def test_a_bound_issuer_grants_only_for_its_own_source(world: World, tmp_path: Path) -> None:
    """rems speaks for DAC, not for a second DAC the dataset also lists."""
    other = "https://dac.example.org/committee/2"
    settings = world.settings(tmp_path)
    datasets = [
        d.model_copy(update={"dac_sources": (DAC, other)}) if d.id == "DS-CTRL" else d
        for d in settings.datasets
    ]
    settings = settings.model_copy(update={"datasets": tuple(datasets)})
    grant = world.rems.visa("alice", "ControlledAccessGrants", DATASET_URN, other, by="dac")
    with open_stack(settings) as two_dacs:
        permit = permit_of(two_dacs, principal_of(two_dacs, world.broker.passport("a", [grant])))
    assert permit.audience is Audience.ANONYMOUS
    assert [v.source for v in permit.refused_grants] == [other]


@pytest.mark.parametrize(
    ("binding", "message"),
    [
        ({"datasets": ["DS-NOPE"]}, "names dataset 'DS-NOPE', which is not in datasets"),
        ({"datasets": ["DS-OPEN"]}, "dataset 'DS-OPEN' does not list"),
    ],
)
def test_a_binding_must_name_declared_datasets_that_list_its_source(
    world: World, tmp_path: Path, binding: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        world.settings(tmp_path, visa_issuers=[rems_bound(world, **binding)])


def test_grant_sources_belong_on_visa_issuers_not_passport_issuers(
    world: World, tmp_path: Path
) -> None:
    broker = {
        "issuer": world.broker.issuer,
        "jwks_urls": [world.broker.jwks_url],
        "grant_sources": [DAC],
    }
    with pytest.raises(ValidationError, match="grant_sources belongs on"):
        world.settings(tmp_path, passport_issuers=[broker])
