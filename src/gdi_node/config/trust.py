"""Settings of the Passport clearinghouse: whom to trust, limits, registered access, residency.

GA4GH AAI 1.2 (Conformance for Claim Clearinghouses) leaves trust to configuration: the brokers
and passport issuers whose tokens are accepted, the visa issuers with the JWKS URLs each may use
(a visa's ``jku`` must be on its issuer's list before anything is fetched), which issuers may
link identities, and which DAC sources each visa issuer may assert ControlledAccessGrants for
(Passport v1.2, General Requirements 8.3: trust in the broker, the visa issuer **and** the
assertion source together; decision record 0010). Everything not listed is untrusted.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

REGISTERED_ACCESS_DOI = "https://doi.org/10.1038/s41431-018-0219-y"


class StrictSection(BaseModel):
    """A settings section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_http_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL; else a ValueError naming it."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


class Disclosure(StrEnum):
    """How much of a dataset a caller may see, from least to most."""

    NONE = "none"
    BOOLEAN = "boolean"
    COUNT = "count"
    RECORD = "record"
    FILE = "file"

    @property
    def rank(self) -> int:
        return _DISCLOSURE_RANKS[self]

    def at_most(self, other: Disclosure) -> Disclosure:
        return self if self.rank <= other.rank else other


_DISCLOSURE_RANKS = {level: rank for rank, level in enumerate(Disclosure)}


class Audience(StrEnum):
    """Who the caller is to a dataset: nobody known, a registered researcher, or granted."""

    ANONYMOUS = "anonymous"
    REGISTERED = "registered"
    CONTROLLED = "controlled"


class DisclosureLimits(StrictSection):
    """The maximum disclosure per audience for one dataset."""

    anonymous: Disclosure
    registered: Disclosure
    controlled: Disclosure

    def for_audience(self, audience: Audience) -> Disclosure:
        limit: Disclosure = getattr(self, audience.value)
        return limit


class GrantSource(StrictSection):
    """One DAC (a visa ``source``) a visa issuer speaks for in ControlledAccessGrants visas.

    ``datasets`` empty: every dataset that lists ``source`` in its ``dac_sources``; otherwise
    only these datasets (each must list ``source``).
    """

    source: str = Field(min_length=1, max_length=255)
    datasets: tuple[str, ...] = ()


class TrustedIssuer(StrictSection):
    """A passport issuer / broker, or a visa issuer, with the JWKS URLs allowed for it.

    ``grant_sources`` (visa issuers only) binds the issuer to the DAC sources whose
    ControlledAccessGrants it may sign; a grant it signs for any other source is refused. A
    plain string is short for ``{source: <string>}``.
    """

    issuer: str
    jwks_urls: tuple[str, ...] = Field(min_length=1)
    userinfo_url: str | None = None
    token_exchange_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    links_identities: bool = False
    grant_sources: tuple[GrantSource, ...] = ()

    @field_validator("grant_sources", mode="before")
    @classmethod
    def _grant_shorthand(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"source": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("issuer", "userinfo_url", "token_exchange_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("jwks_urls")
    @classmethod
    def _jwks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_http_url(v) for v in value)


class RegisteredAccess(StrictSection):
    """Registered Access = AcceptedTermsAndPolicies + ResearcherStatus (Passport v1, §Registered
    Access), both from one identity; ``sources`` empty means any source a trusted issuer signs."""

    accepted_terms_value: str = REGISTERED_ACCESS_DOI
    researcher_status_value: str = REGISTERED_ACCESS_DOI
    sources: tuple[str, ...] = ()


class Limits(StrictSection):
    """Bounds on what one request may make the clearinghouse do."""

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_token_bytes: int = Field(default=65_536, ge=1024)
    max_visas: int = Field(default=100, ge=1)
    max_visa_bytes: int = Field(default=16_384, ge=512)
    max_jku_per_request: int = Field(default=5, ge=1)
    max_passports: int = Field(default=10, ge=1)


class Residency(StrictSection):
    """Who may receive record-level data and file bytes of REGISTERED/CONTROLLED datasets.

    Only requests from these networks (in-country networks, processing environments) qualify;
    with none configured nobody does, and everyone gets at most aggregates (fail closed).
    """

    networks: tuple[str, ...] = ()

    @field_validator("networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            ip_network(item, strict=False)
        return value

    def parsed(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(n, strict=False) for n in self.networks)


class TrustSettings(StrictSection):
    """The ``trust:`` section of the settings."""

    passport_issuers: tuple[TrustedIssuer, ...] = ()
    visa_issuers: tuple[TrustedIssuer, ...] = ()
    local_issuer: bool = False
    audiences: tuple[str, ...] = ()
    registered_access: RegisteredAccess = RegisteredAccess()
    residency: Residency = Residency()
    limits: Limits = Limits()
    clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    allow_insecure_http: bool = False
    http_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    jwks_max_bytes: int = Field(default=262_144, ge=1024)
    jwks_cache_seconds: int = Field(default=600, ge=0)
    jwks_min_refetch_seconds: int = Field(default=60, ge=0)
    userinfo_cache_max_entries: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _grant_sources_on_visa_issuers(self) -> TrustSettings:
        misplaced = [i.issuer for i in self.passport_issuers if i.grant_sources]
        if misplaced:
            raise ValueError(
                f"passport_issuers {', '.join(misplaced)}: grant_sources belongs on the issuer's"
                " entry in trust.visa_issuers (only visa issuers sign grants)"
            )
        return self
