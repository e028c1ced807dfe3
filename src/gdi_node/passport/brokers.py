"""Access tokens from trusted brokers (LS-AAI style): the node asks the broker for the
caller's visas, by RFC 8693 token exchange where the broker offers it, else at ``/userinfo``
(GA4GH AAI 1.2, Conformance for Brokers 3; Passport-Scoped Access Token). Results are cached
per token until the token expires."""

from __future__ import annotations

import hashlib

from gdi_node.config.trust import TrustedIssuer
from gdi_node.expiring_lru import ExpiringLru
from gdi_node.passport import tokens
from gdi_node.passport.errors import CredentialError
from gdi_node.passport.principal import Principal, build_principal
from gdi_node.passport.transport import TrustedHttp
from gdi_node.passport.verifier import PassportVerifier

# RFC 8693 identifiers (not secrets).
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
# AAI 1.2, Conformance for Passport Issuers 4: the requested type of a passport.
PASSPORT_TOKEN_TYPE = "urn:ga4gh:params:oauth:token-type:passport"  # noqa: S105
OPAQUE_TOKEN_CACHE_SECONDS = 60


class BrokerClient:
    """Resolve a bearer access token into a Principal through the broker that issued it."""

    def __init__(self, verifier: PassportVerifier, http: TrustedHttp) -> None:
        self._verifier = verifier
        self._http = http
        trust = verifier.trust
        self._brokers = {
            i.issuer: i
            for i in trust.passport_issuers
            if i.userinfo_url is not None or i.token_exchange_url is not None
        }
        self._cache = ExpiringLru(trust.userinfo_cache_max_entries)

    def principal(self, access_token: str) -> Principal:
        now = self._verifier.now()
        key = hashlib.sha256(access_token.encode()).hexdigest()
        cached = self._cache.get(key, now)
        if isinstance(cached, Principal):
            return cached
        broker, expires, sub = self._identify(access_token)
        if broker.token_exchange_url and broker.client_id and broker.client_secret:
            principal = self._exchange(broker, access_token)
        else:
            principal = self._userinfo(broker, access_token, sub)
        self._cache.put(key, expires, principal)
        return principal

    def _identify(self, access_token: str) -> tuple[TrustedIssuer, int, str | None]:
        """Which broker issued the token: its verified ``iss``, or the only broker for an
        opaque token. Returns (broker, cache expiry, subject if known)."""
        trust = self._verifier.trust
        try:
            token = tokens.parse(access_token, max_bytes=trust.limits.max_token_bytes)
        except CredentialError:
            if len(self._brokers) != 1:
                raise CredentialError(
                    "the bearer token is neither a passport nor a JWT access token of a"
                    " trusted broker"
                ) from None
            (broker,) = self._brokers.values()
            return broker, self._verifier.now() + OPAQUE_TOKEN_CACHE_SECONDS, None
        issuing = self._brokers.get(token.issuer)
        if issuing is None:
            raise CredentialError(f"access token issuer {token.issuer!r} is not a trusted broker")
        exp = self._verifier.verify_token(token, issuing, token.header.get("jku"))
        return issuing, exp, str(token.claims["sub"])

    def _userinfo(self, broker: TrustedIssuer, access_token: str, sub: str | None) -> Principal:
        assert broker.userinfo_url is not None
        status, body = self._http.request_json(
            "GET",
            broker.userinfo_url,
            max_bytes=self._verifier.trust.limits.max_body_bytes,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        if status != 200 or not isinstance(body, dict):
            raise CredentialError(f"the broker refused the access token (HTTP {status})")
        user = body.get("sub")
        if not isinstance(user, str) or (sub is not None and user != sub):
            raise CredentialError("the broker's /userinfo subject does not match the token")
        # AAI 1.0 brokers may leave the claim out for a user without visas: none, then.
        visas, ignored = self._verifier.verify_visas(body.get("ga4gh_passport_v1", []))
        return build_principal(
            (broker.issuer, user), visas, self._verifier.linking_issuers, ignored
        )

    def _exchange(self, broker: TrustedIssuer, access_token: str) -> Principal:
        url, client_id, secret = broker.token_exchange_url, broker.client_id, broker.client_secret
        if not (url and client_id and secret):
            raise CredentialError("token exchange is not configured for this broker")
        status, body = self._http.request_json(
            "POST",
            url,
            max_bytes=self._verifier.trust.limits.max_body_bytes,
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": access_token,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "requested_token_type": PASSPORT_TOKEN_TYPE,
            },
            auth=(client_id, secret),
        )
        if status != 200 or not isinstance(body, dict):
            raise CredentialError(f"the broker refused the token exchange (HTTP {status})")
        return self._verifier.principal_from_passports([body.get("access_token")])
