"""JWKS retrieval and caching, keyed by issuer (GA4GH AAI 1.2, Visa Document Token checks).

A key is only ever looked up for an issuer through a JWKS URL configured for that issuer, so a
key published for one issuer can never verify another issuer's token. Sets are cached; an
unknown ``kid`` (key rotation) triggers at most one refetch per URL per
``min_refetch_seconds``. Keys carried in tokens (``jwk``, ``x5u``, ``x5c``) are never used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from joserfc.jwk import ECKey, RSAKey, import_key

from gdi_node.passport.errors import CredentialError
from gdi_node.passport.transport import TrustedHttp

VerificationKey = RSAKey | ECKey


@dataclass
class _CachedSet:
    keys: dict[str, VerificationKey]
    fetched_at: float
    attempted_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


class JwksCache:
    """Fetch-on-demand key sets with a TTL and a rate-limited refetch for unknown kids."""

    def __init__(
        self,
        http: TrustedHttp,
        *,
        max_bytes: int,
        ttl_seconds: int,
        min_refetch_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._max_bytes = max_bytes
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._sets: dict[str, _CachedSet] = {}
        self._guard = threading.Lock()
        self.fetches = 0

    def preload(self, url: str, keys: dict[str, VerificationKey]) -> None:
        """Install keys received out of band (AAI 1.2 allows trusted out-of-band keys)."""
        self._sets[url] = _CachedSet(dict(keys), float("inf"))

    def key(self, url: str, kid: str) -> VerificationKey:
        """The key ``kid`` published at ``url``; raises CredentialError if it is not there."""
        with self._guard:
            entry = self._sets.get(url)
            if entry is None:
                entry = self._sets[url] = _CachedSet({}, float("-inf"))
        with entry.lock:
            now = self._clock()
            stale = now - entry.fetched_at >= self._ttl or kid not in entry.keys
            due = now - entry.attempted_at >= self._min_refetch  # also rate-limits failures
            if stale and due:
                entry.attempted_at = now
                try:
                    entry.keys = self._fetch(url)
                    entry.fetched_at = now
                except CredentialError:
                    if kid not in entry.keys:
                        raise
                    # the set is unreachable but still holds this key: keep serving it
            found = entry.keys.get(kid)
        if found is None:
            raise CredentialError(f"no key {kid!r} in the key set at {url}")
        return found

    def _fetch(self, url: str) -> dict[str, VerificationKey]:
        self.fetches += 1
        status, document = self._http.request_json("GET", url, max_bytes=self._max_bytes)
        if status != 200 or not isinstance(document, dict):
            raise CredentialError(f"key set at {url} unavailable (HTTP {status})")
        raw_keys = document.get("keys")
        if not isinstance(raw_keys, list):
            raise CredentialError(f"key set at {url} has no 'keys' list")
        keys: dict[str, VerificationKey] = {}
        for raw in raw_keys:
            key = _signing_key(raw)
            if key is not None:
                keys[str(raw["kid"])] = key
        return keys


def _signing_key(raw: object) -> VerificationKey | None:
    """A public RSA or P-256 EC signature key with a kid, or None for anything else."""
    if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str):
        return None
    if raw.get("use", "sig") != "sig" or raw.get("kty") not in ("RSA", "EC"):
        return None
    if raw.get("kty") == "EC" and raw.get("crv") != "P-256":
        return None
    public = {k: v for k, v in raw.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
    try:
        key = import_key(public)
    except Exception:  # malformed key material: skip it, the kid will be "unknown"
        return None
    return key if isinstance(key, RSAKey | ECKey) else None
