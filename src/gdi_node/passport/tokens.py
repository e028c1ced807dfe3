"""JWS compact tokens as GA4GH AAI 1.2 requires them checked (§GA4GH JWT Format).

Only RS256 and ES256 are accepted; ``alg: none``, HMAC and every other algorithm are refused
before any key is looked up. Keys are never taken from the token itself (``jwk``, ``x5u``,
``x5c``, ``x5t``), ``crit`` is refused, ``kid`` is required. Registered claims are checked
with a small clock skew: ``iss``, ``sub``, ``iat``, ``exp`` required, ``nbf`` honoured, ``aud``
(when present) must name one of the node's audiences.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from gdi_node.passport.errors import CredentialError, CredentialTooLargeError
from gdi_node.passport.jwks import VerificationKey

ALGORITHMS = frozenset({"RS256", "ES256"})
_KEY_CARRYING_HEADERS = frozenset({"jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"})


@dataclass(frozen=True)
class UnverifiedToken:
    """A token split and decoded, before its signature is checked."""

    raw: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def issuer(self) -> str:
        return str(self.claims.get("iss", ""))


def _b64_json(segment: str, what: str) -> dict[str, Any]:
    try:
        padded = segment + "=" * (-len(segment) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise CredentialError(f"malformed token: {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise CredentialError(f"malformed token: {what} is not a JSON object")
    return value


def header_of(raw: str) -> dict[str, Any] | None:
    """Only the decoded JOSE header of a compact token (cheap: no payload decoding), or None."""
    segment = raw.split(".", 1)[0]
    if len(segment) > 4096:
        return None
    try:
        return _b64_json(segment, "header")
    except CredentialError:
        return None


def parse(raw: object, *, max_bytes: int, what: str = "token") -> UnverifiedToken:
    """Split a JWS compact serialisation and decode header and claims (no trust yet)."""
    if not isinstance(raw, str) or not raw:
        raise CredentialError(f"malformed {what}: not a string")
    if len(raw) > max_bytes:
        raise CredentialTooLargeError(f"{what} is larger than {max_bytes} bytes")
    parts = raw.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise CredentialError(f"malformed {what}: not a signed JWT (three dot-separated parts)")
    return UnverifiedToken(raw, _b64_json(parts[0], "header"), _b64_json(parts[1], "payload"))


def check_header(token: UnverifiedToken) -> tuple[str, str]:
    """Return (alg, kid) of an acceptable header, or raise."""
    header = token.header
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise CredentialError(f"algorithm {alg!r} is not accepted (RS256 or ES256 only)")
    carried = sorted(_KEY_CARRYING_HEADERS & header.keys())
    if carried:
        raise CredentialError(f"header parameters {carried} are not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CredentialError("header has no 'kid'")
    if not token.raw.rsplit(".", 1)[1]:
        raise CredentialError("token has no signature")
    return str(alg), kid


def verify_signature(token: UnverifiedToken, key: VerificationKey, alg: str) -> None:
    """Check the signature with ``key`` for exactly ``alg``."""
    if (alg == "RS256") != (key.key_type == "RSA"):
        raise CredentialError(f"key type {key.key_type} does not match algorithm {alg}")
    try:
        jws.deserialize_compact(token.raw, key, algorithms=[alg])
    except (JoseError, ValueError):
        raise CredentialError("signature does not verify") from None


def _int_claim(claims: dict[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CredentialError(f"claim {name!r} is not a number")
    return int(value)


def _required_int_claim(claims: dict[str, Any], name: str) -> int:
    value = _int_claim(claims, name)
    if value is None:
        raise CredentialError(f"claim {name!r} is missing")
    return value


def check_claims(token: UnverifiedToken, *, now: int, skew: int, audiences: Collection[str]) -> int:
    """Check iss/sub/iat/exp/nbf/aud; return ``exp``."""
    claims = token.claims
    for name in ("iss", "sub"):
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise CredentialError(f"claim {name!r} is missing or not a string")
    iat = _required_int_claim(claims, "iat")
    exp = _required_int_claim(claims, "exp")
    nbf = _int_claim(claims, "nbf")
    if exp <= now - skew:
        raise CredentialError("token has expired")
    if iat > now + skew:
        raise CredentialError("token is issued in the future ('iat')")
    if nbf is not None and nbf > now + skew:
        raise CredentialError("token is not valid yet ('nbf')")
    if "aud" in claims:
        aud = claims["aud"]
        listed = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not set(map(str, listed)) & set(audiences):
            raise CredentialError("token's 'aud' does not name this node")
    return exp
