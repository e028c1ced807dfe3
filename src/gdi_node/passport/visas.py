"""Visa objects and their rules (GA4GH Passport v1.2: Visa Format, Visa Object Claims,
conditions, Pattern Matching, LinkedIdentities).

``value`` and ``source`` are opaque, case-sensitive strings of at most 255 characters (GDI uses
URNs as well as URLs). Visa types this node does not use are ignored, as the spec requires of
custom types. ``asserted`` (Visa Object Claims, "asserted": when the Visa Assertion Source made
the assertion, whereas ``iat`` is when the visa was minted) must be a positive time, not in the
future beyond the clock skew, and not later than the visa's ``iat``. An AffiliationAndRole
``value`` is ``role@affiliation`` (Standard Visa Types, AffiliationAndRole: it is partitioned at
the first ``@``, "or otherwise producing an error (i.e. denying permission)").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from gdi_node.passport.errors import CredentialError
from gdi_node.passport.patterns import pattern_matches

STANDARD_TYPES = frozenset(
    {
        "AffiliationAndRole",
        "AcceptedTermsAndPolicies",
        "ResearcherStatus",
        "ControlledAccessGrants",
        "LinkedIdentities",
    }
)
TYPES_REQUIRING_BY = frozenset({"AcceptedTermsAndPolicies", "ControlledAccessGrants"})
BY_VALUES = frozenset({"self", "peer", "system", "so", "dac"})
_MAX_STRING = 255
_CLAUSE_CLAIMS = frozenset({"value", "source", "by"})

Identity = tuple[str, str]  # (iss, sub)


@dataclass(frozen=True)
class Visa:
    """One verified visa: who issued it to whom, what it asserts, until when."""

    visa_id: str
    iss: str
    sub: str
    exp: int
    type: str
    value: str
    source: str
    by: str | None
    asserted: int
    conditions: tuple[tuple[dict[str, str], ...], ...] | None

    @property
    def identity(self) -> Identity:
        return (self.iss, self.sub)


def _string(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise CredentialError(f"visa claim {name!r} is missing or not a string")
    if len(value) > _MAX_STRING:
        raise CredentialError(f"visa claim {name!r} is longer than {_MAX_STRING} characters")
    return value


def _conditions(raw: object) -> tuple[tuple[dict[str, str], ...], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(group, list) for group in raw):
        raise CredentialError("visa 'conditions' is not a list of lists of clauses")
    groups = []
    for group in raw:
        if not all(isinstance(c, dict) for c in group):
            raise CredentialError("visa 'conditions' clause is not an object")
        groups.append(tuple(group))
    return tuple(groups)


def _asserted(obj: dict[str, Any], iat: int, now: int, skew: int) -> int:
    """The ``asserted`` time, if it is one the assertion can have been made at."""
    asserted = obj.get("asserted")
    if isinstance(asserted, bool) or not isinstance(asserted, int):
        raise CredentialError("visa claim 'asserted' is missing or not an integer")
    if asserted <= 0:
        raise CredentialError("visa claim 'asserted' is not a positive time")
    if asserted > now + skew:
        raise CredentialError("visa claim 'asserted' is in the future")
    if asserted > iat:
        raise CredentialError("visa claim 'asserted' is later than the visa's 'iat'")
    return asserted


def is_role_at_affiliation(value: str) -> bool:
    """An AffiliationAndRole value: ``role@affiliation``, both parts non-empty."""
    role, at, affiliation = value.partition("@")
    return bool(role and at and affiliation)


def _check_value(visa_type: str, value: str) -> None:
    if visa_type == "AffiliationAndRole" and not is_role_at_affiliation(value):
        raise CredentialError("AffiliationAndRole value is not 'role@affiliation'")


def visa_from_claims(
    claims: dict[str, Any], visa_id: str, exp: int, *, now: int, skew: int
) -> Visa:
    """Build a Visa from verified JWT claims (``iat`` already checked to be a number),
    checking the Visa Object rules at time ``now`` with ``skew`` seconds of clock skew."""
    obj = claims.get("ga4gh_visa_v1")
    if not isinstance(obj, dict):
        raise CredentialError("visa has no 'ga4gh_visa_v1' object")
    visa_type = _string(obj, "type")
    asserted = _asserted(obj, int(claims["iat"]), now, skew)
    value = _string(obj, "value")
    _check_value(visa_type, value)
    by = obj.get("by")
    if by is not None and (not isinstance(by, str) or by not in BY_VALUES):
        raise CredentialError(f"visa claim 'by' has an unknown value {by!r}")
    if by is None and visa_type in TYPES_REQUIRING_BY:
        raise CredentialError(f"a {visa_type} visa must say 'by'")
    return Visa(
        visa_id=visa_id,
        iss=str(claims["iss"]),
        sub=str(claims["sub"]),
        exp=exp,
        type=visa_type,
        value=value,
        source=_string(obj, "source"),
        by=by,
        asserted=asserted,
        conditions=_conditions(obj.get("conditions")),
    )


def _claim_matches(rule: str, actual: str | None) -> bool:
    prefix, sep, expected = rule.partition(":")
    if not sep or actual is None:
        return False
    if prefix == "const":
        return actual == expected
    if prefix == "pattern":
        return pattern_matches(expected, actual)
    if prefix == "split_pattern":
        return any(pattern_matches(expected, part) for part in actual.split(";"))
    return False  # unknown prefix: the clause fails


def clause_matches(clause: dict[str, Any], visa: Visa) -> bool:
    """One Condition Clause against one unconditioned visa (all its claims must match)."""
    other = set(clause) - {"type"}
    if not isinstance(clause.get("type"), str) or not other or not other <= _CLAUSE_CLAIMS:
        return False  # malformed clause, or one naming conditions/asserted/unknown claims
    if clause["type"] != visa.type:
        return False
    values = {"value": visa.value, "source": visa.source, "by": visa.by}
    return all(
        isinstance(clause[name], str) and _claim_matches(clause[name], values[name])
        for name in other
    )


def conditions_met(visa: Visa, candidates: list[Visa]) -> bool:
    """DNF: some OR-group whose every clause is met by a single valid unconditioned visa."""
    if not visa.conditions:
        return True
    pool = [c for c in candidates if not c.conditions and c is not visa]
    return any(
        bool(group) and all(any(clause_matches(clause, c) for c in pool) for clause in group)
        for group in visa.conditions
    )


def linked_identities(visa: Visa) -> list[Identity]:
    """The identities a LinkedIdentities visa's value lists, besides its own."""
    linked = []
    for entry in visa.value.split(";"):
        sub, sep, iss = entry.partition(",")
        if not sep or not sub or not iss:
            raise CredentialError("LinkedIdentities value is not 'sub,iss;...' URI-encoded")
        linked.append((unquote(iss), unquote(sub)))
    return linked
