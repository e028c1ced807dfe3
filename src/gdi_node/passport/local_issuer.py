"""The embedded default's own passport and visa issuer (for the demo and for tests).

A P-256 key pair is kept in the data directory; ``gdi-node passport issue`` mints a Passport
(typ ``vnd.ga4gh.passport+jwt``) holding Visa Document Tokens (header ``jku`` = the node's
published JWKS) for datasets and Registered Access. A node trusts this issuer only when
``trust.local_issuer`` is set, which production configurations refuse; its keys reach the
verifier out of band (AAI 1.2 allows that), so the node never fetches its own JWKS.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from gdi_node.config.settings import Settings
from gdi_node.config.trust import TrustedIssuer
from gdi_node.errors import InvalidInputError
from gdi_node.passport.visas import is_role_at_affiliation
from gdi_node.secrets import write_once

KEY_FILE = "local-issuer-key.json"
_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BY = {
    "ControlledAccessGrants": "dac",
    "AcceptedTermsAndPolicies": "self",
    "ResearcherStatus": "so",
    "AffiliationAndRole": "system",
}


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``7d`` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidInputError(f"{text!r} is not a duration like 30m, 1h or 7d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def parse_condition(text: str) -> dict[str, str]:
    """``type=AffiliationAndRole,value=const:faculty@x.org`` -> one Condition Clause."""
    clause: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value:
            raise InvalidInputError(f"condition {text!r}: expected name=value pairs")
        clause[name.strip()] = value
    if "type" not in clause or len(clause) < 2:
        raise InvalidInputError(f"condition {text!r} needs a type and at least one claim")
    return clause


@dataclass(frozen=True)
class LocalIssuer:
    """The key and URLs of the node's own issuer."""

    key: ECKey
    issuer: str
    jwks_url: str
    dac_source: str

    @classmethod
    def for_settings(cls, settings: Settings) -> LocalIssuer:
        base = settings.public_url
        path = settings.data_dir / "passport" / KEY_FILE
        return cls(
            _load_or_create_key(path),
            f"{base}/passport",
            f"{base}/passport/jwks",
            f"{base}/passport/dac",
        )

    def trusted_issuer(self) -> TrustedIssuer:
        return TrustedIssuer(issuer=self.issuer, jwks_urls=(self.jwks_url,), links_identities=True)

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": "ES256"}]}

    def _sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "ES256", "kid": self.key.kid, **header}, claims, self.key)

    def _claims(self, sub: str, now: int, exp: int, **extra: Any) -> dict[str, Any]:
        base = {"iss": self.issuer, "sub": sub, "iat": now, "exp": exp, "jti": uuid.uuid4().hex}
        return {**base, **extra}

    def visa(self, sub: str, visa: dict[str, Any], exp: int, now: int) -> str:
        """A Visa Document Token (header ``jku`` = this issuer's published JWKS)."""
        claims = self._claims(sub, now, exp, ga4gh_visa_v1={"asserted": now, **visa})
        return self._sign({"typ": "vnd.ga4gh.visa+jwt", "jku": self.jwks_url}, claims)

    def passport(
        self,
        settings: Settings,
        sub: str,
        datasets: Sequence[str],
        *,
        registered: bool = False,
        ttl: int = 3600,
        conditions: Sequence[dict[str, str]] = (),
        affiliations: Sequence[str] = (),
    ) -> str:
        """A signed passport for ``sub`` with grants for ``datasets`` (ids in the settings)."""
        declared = {d.id: d for d in settings.datasets}
        unknown = [d for d in datasets if d not in declared]
        if unknown:
            raise InvalidInputError(f"unknown dataset(s): {', '.join(unknown)}")
        malformed = [a for a in affiliations if not is_role_at_affiliation(a)]
        if malformed:  # Passport v1.2 AffiliationAndRole: a visa without it would be ignored
            raise InvalidInputError(f"affiliation(s) not of the form role@affiliation: {malformed}")
        now = int(time.time())
        exp = now + ttl
        wanted: list[dict[str, Any]] = []
        for dataset_id in datasets:
            grant = self._object("ControlledAccessGrants", declared[dataset_id].grant_values[0])
            if conditions:
                grant["conditions"] = [list(conditions)]
            wanted.append(grant)
        if registered:
            ra = settings.trust.registered_access
            wanted.append(self._object("AcceptedTermsAndPolicies", ra.accepted_terms_value))
            wanted.append(self._object("ResearcherStatus", ra.researcher_status_value))
        wanted += [self._object("AffiliationAndRole", a) for a in affiliations]
        visas = [self.visa(sub, obj, exp, now) for obj in wanted]
        claims = self._claims(sub, now, exp, ga4gh_passport_v1=visas)
        return self._sign({"typ": "vnd.ga4gh.passport+jwt"}, claims)

    def _object(self, visa_type: str, value: str) -> dict[str, Any]:
        """A visa object with the ``by`` this issuer asserts for each type."""
        by = _BY[visa_type]
        return {"type": visa_type, "by": by, "value": value, "source": self.dac_source}


def _load_or_create_key(path: Path) -> ECKey:
    """The issuer's private key, created once (0600, atomically) and reused."""

    def new_key() -> bytes:
        key = ECKey.generate_key("P-256", auto_kid=True)
        return json.dumps(key.as_dict(private=True)).encode()

    key = ECKey.import_key(json.loads(write_once(path, new_key)))
    if not key.kid:
        raise InvalidInputError(f"{path} holds a key without 'kid'")
    return key
