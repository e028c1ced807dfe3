"""Verify passports and visas into a Principal (GA4GH AAI 1.2 Conformance for Claim
Clearinghouses; Passport v1.2 Visa Requirements). Fail closed: a credential that is presented
but cannot be verified is an error, never a silent downgrade to anonymous. A visa that is not
acceptable (untrusted issuer, bad signature, expired, unknown type, ...) is ignored and the
reason recorded; it can never grant anything.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gdi_node.config.trust import TrustedIssuer, TrustSettings
from gdi_node.expiring_lru import ExpiringLru
from gdi_node.passport import tokens
from gdi_node.passport.errors import (
    CredentialError,
    CredentialTooLargeError,
    TooManyKeySetsError,
)
from gdi_node.passport.jwks import JwksCache, VerificationKey
from gdi_node.passport.principal import Principal, build_principal
from gdi_node.passport.transport import TrustedHttp
from gdi_node.passport.visas import STANDARD_TYPES, Visa, visa_from_claims

PASSPORT_TYP = "vnd.ga4gh.passport+jwt"
PASSPORT_CLAIM = "ga4gh_passport_v1"
# Passport v1.2, Visa Format "typ" (optional): a Visa Document Token is RECOMMENDED to say
# vnd.ga4gh.visa+jwt and MAY say JWT; a Visa Access Token follows the access token format
# (AAI 1.0: JWT; RFC 9068: at+jwt). Media types compare case-insensitively and may carry the
# "application/" prefix (RFC 7515 section 4.1.9). Anything else, a passport's typ included, is
# another kind of token and is not accepted as a visa.
DOCUMENT_VISA_TYPS = frozenset({"vnd.ga4gh.visa+jwt", "jwt"})
ACCESS_VISA_TYPS = frozenset({"at+jwt", "jwt"})
VISA_ACCESS_TOKEN_MAX_AGE = 3600  # AAI 1.2: older visa access tokens need polling
PRINCIPAL_CACHE_SECONDS = 60


@dataclass
class _RequestBudget:
    """Per-request limits that span several tokens."""

    max_jku: int
    jkus: set[str] = field(default_factory=set)

    def use_jku(self, url: str) -> None:
        self.jkus.add(url)
        if len(self.jkus) > self.max_jku:
            raise TooManyKeySetsError(f"visas name more than {self.max_jku} distinct key set URLs")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_visa_typ(typ: object, *, document: bool) -> None:
    """Refuse a visa whose ``typ`` header names another kind of token (see DOCUMENT_VISA_TYPS)."""
    if typ is None:
        return  # OPTIONAL
    allowed = DOCUMENT_VISA_TYPS if document else ACCESS_VISA_TYPS
    kind = "visa document token" if document else "visa access token"
    media = typ.lower().removeprefix("application/") if isinstance(typ, str) else None
    if media not in allowed:
        raise CredentialError(f"typ {typ!r} is not the typ of a {kind}")


class PassportVerifier:
    """Turns passports (JWT strings) and visa lists into a Principal."""

    def __init__(
        self,
        trust: TrustSettings,
        jwks: JwksCache,
        http: TrustedHttp,
        *,
        extra_issuers: Sequence[TrustedIssuer] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trust = trust
        self._jwks = jwks
        self._http = http
        self._clock = clock
        self._passport_issuers = {i.issuer: i for i in (*trust.passport_issuers, *extra_issuers)}
        self._visa_issuers = {i.issuer: i for i in (*trust.visa_issuers, *extra_issuers)}
        self.linking_issuers = frozenset(
            i.issuer for i in (*trust.visa_issuers, *extra_issuers) if i.links_identities
        )
        self._visa_cache = ExpiringLru(trust.userinfo_cache_max_entries)
        self._poll_cache = ExpiringLru(trust.userinfo_cache_max_entries)
        self._principal_cache = ExpiringLru(trust.userinfo_cache_max_entries)

    def now(self) -> int:
        return int(self._clock())

    # -- passports ---------------------------------------------------------------------------

    def principal_from_passports(self, raws: Sequence[object]) -> Principal:
        """Verify one or more passports; the first one's identity names the principal.

        The result is cached for the same passports until the earliest expiry among them and
        their accepted visas, and at most ``PRINCIPAL_CACHE_SECONDS`` (tokens are immutable;
        the short bound re-runs visa access token polling and picks up configuration).
        """
        key = _digest("\n".join(r if isinstance(r, str) else repr(r) for r in raws))
        now = self.now()
        cached = self._principal_cache.get(key, now)
        if isinstance(cached, Principal):
            return cached
        principal, expires = self._verify_passports(raws)
        self._principal_cache.put(key, min(expires, now + PRINCIPAL_CACHE_SECONDS), principal)
        return principal

    def _verify_passports(self, raws: Sequence[object]) -> tuple[Principal, int]:
        limits = self.trust.limits
        if not raws:
            raise CredentialError("an empty list of passports is not a credential")
        if len(raws) > limits.max_passports:
            raise CredentialTooLargeError(f"more than {limits.max_passports} passports")
        budget = _RequestBudget(limits.max_jku_per_request)
        identity = None
        visas: list[Visa] = []
        ignored: list[tuple[str, str]] = []
        expires: list[int] = []
        for raw in raws:
            token, exp = self.verify_passport_token(raw)
            expires.append(exp)
            identity = identity or (token.issuer, str(token.claims["sub"]))
            found, skipped = self.verify_visas(token.claims[PASSPORT_CLAIM], budget)
            visas += found
            ignored += skipped
        assert identity is not None
        principal = build_principal(identity, visas, self.linking_issuers, ignored)
        return principal, min([*expires, *(v.exp for v in visas)])

    def verify_passport_token(self, raw: object) -> tuple[tokens.UnverifiedToken, int]:
        """A verified passport token and its ``exp`` (AAI 1.2, Passport Format: ``typ``
        vnd.ga4gh.passport+jwt and the ``ga4gh_passport_v1`` claim are both REQUIRED; the
        claim may be an empty list)."""
        token = tokens.parse(raw, max_bytes=self.trust.limits.max_token_bytes, what="passport")
        if token.header.get("typ") != PASSPORT_TYP:
            raise CredentialError(f"a passport must have typ {PASSPORT_TYP!r}")
        if PASSPORT_CLAIM not in token.claims:
            raise CredentialError(f"a passport must have the {PASSPORT_CLAIM!r} claim")
        issuer = self._passport_issuers.get(token.issuer)
        if issuer is None:
            raise CredentialError(f"passport issuer {token.issuer!r} is not trusted")
        return token, self.verify_token(token, issuer, token.header.get("jku"))

    # -- visas -------------------------------------------------------------------------------

    def verify_visas(
        self, raws: object, budget: _RequestBudget | None = None
    ) -> tuple[list[Visa], list[tuple[str, str]]]:
        """Accepted visas and (visa id, reason) for each ignored one."""
        limits = self.trust.limits
        if not isinstance(raws, list):
            raise CredentialError("'ga4gh_passport_v1' is not a list of visas")
        if len(raws) > limits.max_visas:
            raise CredentialTooLargeError(f"more than {limits.max_visas} visas")
        budget = budget or _RequestBudget(limits.max_jku_per_request)
        accepted: list[Visa] = []
        ignored: list[tuple[str, str]] = []
        for index, raw in enumerate(raws):
            try:
                accepted.append(self._visa(raw, budget))
            except (CredentialTooLargeError, TooManyKeySetsError):
                raise
            except CredentialError as exc:
                ignored.append((f"#{index}", exc.message))
        return accepted, ignored

    def _visa(self, raw: object, budget: _RequestBudget) -> Visa:
        token = tokens.parse(raw, max_bytes=self.trust.limits.max_visa_bytes, what="visa")
        now = self.now()
        key = _digest(token.raw)
        cached = self._visa_cache.get(key, now - self.trust.clock_skew_seconds)
        if isinstance(cached, Visa):
            if "jku" in token.header:
                budget.use_jku(str(token.header["jku"]))
            self._poll_if_stale(token, cached, now)
            return cached
        visa_obj = token.claims.get("ga4gh_visa_v1")
        visa_type = visa_obj.get("type") if isinstance(visa_obj, dict) else None
        if visa_type not in STANDARD_TYPES:
            raise CredentialError(f"visa type {visa_type!r} is not used by this node")
        issuer = self._visa_issuers.get(token.issuer)
        if issuer is None:
            raise CredentialError(f"visa issuer {token.issuer!r} is not trusted")
        scopes = str(token.claims.get("scope", "")).split()
        jku = token.header.get("jku")
        if jku is not None:  # Visa Document Token
            if "openid" in scopes:
                raise CredentialError("a visa document token must not have the openid scope")
            if jku not in issuer.jwks_urls:
                raise CredentialError(f"jku {jku!r} is not allowed for issuer {issuer.issuer!r}")
            budget.use_jku(str(jku))
        elif "openid" not in scopes:
            raise CredentialError("visa has neither a jku (document) nor the openid scope (access)")
        elif "aud" in token.claims:
            raise CredentialError("a visa access token must not have 'aud'")
        _check_visa_typ(token.header.get("typ"), document=jku is not None)
        exp = self.verify_token(token, issuer, jku)
        jti = token.claims.get("jti")
        visa_id = jti if isinstance(jti, str) and jti else f"sha256:{key[:16]}"
        visa = visa_from_claims(
            token.claims, visa_id, exp, now=now, skew=self.trust.clock_skew_seconds
        )
        self._poll_if_stale(token, visa, now)
        self._visa_cache.put(key, exp, visa)
        return visa

    def _poll_if_stale(self, token: tokens.UnverifiedToken, visa: Visa, now: int) -> None:
        """AAI 1.2: a visa access token older than an hour must be confirmed at /userinfo."""
        if "jku" in token.header:
            return
        iat = int(token.claims.get("iat", 0))
        if now - iat <= VISA_ACCESS_TOKEN_MAX_AGE:
            return
        key = _digest(token.raw)
        if self._poll_cache.get(key, now):
            return
        issuer = self._visa_issuers[visa.iss]
        if issuer.userinfo_url is None:
            raise CredentialError("visa access token is over an hour old and cannot be polled")
        status, _ = self._http.request_json(
            "GET",
            issuer.userinfo_url,
            max_bytes=self.trust.jwks_max_bytes,
            headers={"Authorization": f"Bearer {token.raw}"},
        )
        if status != 200:
            raise CredentialError("visa access token was not confirmed by its issuer")
        self._poll_cache.put(key, min(visa.exp, now + VISA_ACCESS_TOKEN_MAX_AGE), True)

    # -- shared ------------------------------------------------------------------------------

    def verify_token(
        self, token: tokens.UnverifiedToken, issuer: TrustedIssuer, jku: object | None
    ) -> int:
        """Signature with the issuer's own keys, then registered claims; returns exp."""
        alg, kid = tokens.check_header(token)
        if jku is not None and jku not in issuer.jwks_urls:
            raise CredentialError(f"jku {jku!r} is not allowed for issuer {issuer.issuer!r}")
        key = self._issuer_key(issuer, kid, str(jku) if jku is not None else None)
        tokens.verify_signature(token, key, alg)
        return tokens.check_claims(
            token,
            now=self.now(),
            skew=self.trust.clock_skew_seconds,
            audiences=self.trust.audiences,
        )

    def _issuer_key(self, issuer: TrustedIssuer, kid: str, jku: str | None) -> VerificationKey:
        urls = [jku] if jku else list(issuer.jwks_urls)
        problem: CredentialError | None = None
        for url in urls:
            try:
                return self._jwks.key(url, kid)
            except CredentialError as exc:
                problem = exc
        assert problem is not None
        raise problem
