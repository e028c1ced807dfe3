"""The one authorization entry point every API uses: credentials in, principal and permits out,
every decision appended to the audit trail.

Credentials (GA4GH AAI 1.2 / DRS 1.5 passport auth): a Passport JWT as bearer token, passports
in a POST body (``{"passports": [...]}``), a broker's access token as bearer token, or nothing
(anonymous). A bearer token together with body passports is refused (400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from gdi_node.config.settings import SecurityLevel
from gdi_node.config.trust import Disclosure
from gdi_node.errors import ConsentWithdrawnError, DomainError
from gdi_node.passport.audit import AuditTrail
from gdi_node.passport.audit_event import AuditEvent, RefusedVisa
from gdi_node.passport.brokers import BrokerClient
from gdi_node.passport.errors import (
    CredentialConflictError,
    CredentialError,
    CredentialTooLargeError,
)
from gdi_node.passport.permits import Permit, PermitPolicy
from gdi_node.passport.principal import Principal
from gdi_node.passport.tokens import header_of
from gdi_node.passport.verifier import PASSPORT_TYP, PassportVerifier


@dataclass(frozen=True)
class RequestFacts:
    """What the HTTP layer knows about a request, for decisions and the audit trail."""

    operation: str
    client_address: str | None
    request_id: str | None


@dataclass(frozen=True)
class Credentials:
    bearer: str | None = None
    passports: tuple[object, ...] | None = None


def credentials_from(authorization: str | None, body: object | None) -> Credentials:
    """Read the Authorization header and a JSON body's ``passports`` member."""
    bearer = None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise CredentialError("the Authorization header must be 'Bearer <token>'")
        bearer = value.strip()
    passports = None
    if isinstance(body, dict) and "passports" in body:
        raw = body["passports"]
        if not isinstance(raw, list):
            raise CredentialError("'passports' must be a list of passport JWTs")
        passports = tuple(raw)
    if bearer is not None and passports is not None:
        raise CredentialConflictError(
            "send either a bearer token or passports in the body, not both"
        )
    return Credentials(bearer, passports)


class Authorizer:
    """Principal resolution, permit evaluation and auditing, for all APIs."""

    def __init__(
        self,
        verifier: PassportVerifier,
        brokers: BrokerClient,
        policy: PermitPolicy,
        audit: AuditTrail,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.verifier = verifier
        self._brokers = brokers
        self.policy = policy
        self._audit = audit
        self._clock = clock

    def principal(self, credentials: Credentials, facts: RequestFacts) -> Principal:
        """Verify the credentials; a failure is audited and raised (never anonymous)."""
        try:
            return self._resolve(credentials)
        except DomainError:
            self._record(None, facts, None, None, decision="deny", disclosure=Disclosure.NONE)
            raise

    def principal_or_anonymous(
        self, credentials: Callable[[], Credentials], facts: RequestFacts
    ) -> tuple[Principal, str | None]:
        """For Beacon query operations only (decision record 0028): the verified principal,
        or, when the credential presented cannot be accepted (malformed, expired, of an
        issuer or broker the node does not trust, refused by its broker), the anonymous
        principal and why the credential was ignored. The refusal is audited as a deny whose
        object says the credential was ignored; a request with two kinds of credential stays
        a 400 (the client can fix that)."""
        try:
            presented = credentials()
        except (CredentialError, CredentialTooLargeError) as error:
            return self._ignored(str(error), facts)
        try:
            return self._resolve(presented), None
        except (CredentialError, CredentialTooLargeError) as error:
            return self._ignored(str(error), facts)
        except DomainError:
            self._record(None, facts, None, None, decision="deny", disclosure=Disclosure.NONE)
            raise

    def principal_for_record(self, credentials: Callable[[], Credentials]) -> Principal:
        """Who the audit trail names for a request a hub passes on to a member unjudged (the
        member decides; decision record 0031): the verified principal, else anonymous. Nothing
        is audited here: the forwarding is."""
        try:
            return self._resolve(credentials())
        except DomainError:
            return Principal.anonymous()

    def _ignored(self, reason: str, facts: RequestFacts) -> tuple[Principal, str]:
        self._record(
            None,
            facts,
            None,
            f"credential ignored, answered as anonymous: {reason}"[:500],
            decision="deny",
            disclosure=Disclosure.NONE,
        )
        return Principal.anonymous(), reason

    def _resolve(self, credentials: Credentials) -> Principal:
        if credentials.passports is not None:
            return self.verifier.principal_from_passports(credentials.passports)
        if credentials.bearer is None:
            return Principal.anonymous()
        if _is_passport(credentials.bearer):
            return self.verifier.principal_from_passports([credentials.bearer])
        return self._brokers.principal(credentials.bearer)

    def decide(
        self,
        principal: Principal,
        dataset_id: str,
        facts: RequestFacts,
        *,
        level: Disclosure | None = None,
        object_id: str | None = None,
        withheld: bool = False,
    ) -> Permit:
        """The permit for one dataset; with ``level``, raise 401/403/404 unless allowed.

        ``withheld``: the object holds data of a person who opted out of research use. A
        caller the permit allows ``level`` is then refused (403, audited as a deny with the
        permit's disclosure); any other caller gets the permit's usual answer, which tells
        nothing of consent (decision record 0012)."""
        try:
            permit = self.policy.permit(principal, dataset_id, facts.client_address)
        except DomainError:
            self._record(
                principal, facts, dataset_id, object_id, decision="deny", disclosure=Disclosure.NONE
            )
            raise
        allowed = level is None or permit.allows(level)
        if allowed and withheld and level is not None:
            self.withhold(
                dataset_id,
                object_id,
                facts,
                principal=principal,
                disclosure=permit.disclosure,
                visa_ids=tuple(v.visa_id for v in permit.visas_used),
            )
        self._record(
            principal,
            facts,
            dataset_id,
            object_id,
            decision="allow" if allowed else "deny",
            disclosure=permit.disclosure,
            visa_ids=tuple(v.visa_id for v in permit.visas_used),
            durable=allowed and level is not None and _is_grant(permit, level),
            refused=tuple(RefusedVisa(v.visa_id, v.iss, v.source) for v in permit.refused_grants),
        )
        if level is not None:
            permit.require(level, principal)
        return permit

    def record_forwarded(
        self,
        principal: Principal,
        facts: RequestFacts,
        member_id: str,
        described: str,
        outcome: str,
    ) -> None:
        """A query a hub passed on to one of its members with the caller's credentials
        (decision record 0031): audited as an allow naming the member and what came of it;
        the member decides, and audits, what the caller may see of its data."""
        self._record(
            principal,
            facts,
            None,
            f"federated to member {member_id}: {described} -> {outcome}"[:500],
            decision="allow",
            disclosure=Disclosure.NONE,
        )

    def confirm_recorded(self) -> None:
        """Return once every decision recorded so far is committed to the audit trail (503
        otherwise). Call before an answer discloses records of non-public data when the level
        was settled after ``decide`` (Beacon granularity); ``decide`` with a record or file
        ``level`` already does (decision record 0015)."""
        self._audit.wait_durable()

    def withhold(
        self,
        dataset_id: str,
        object_id: str | None,
        facts: RequestFacts,
        *,
        principal: Principal | None = None,
        disclosure: Disclosure = Disclosure.FILE,
        visa_ids: tuple[str, ...] = (),
    ) -> NoReturn:
        """Refuse a file withheld from research use by an opt-out: audited as a deny for the
        object with the disclosure the caller held (``file`` for a signed data URL, which
        carries no identity), raised as 403 (decision record 0012)."""
        self._record(
            principal,
            facts,
            dataset_id,
            object_id,
            decision="deny",
            disclosure=disclosure,
            visa_ids=visa_ids,
        )
        raise ConsentWithdrawnError(
            f"object {object_id!r} is not available for research use: a person whose data it"
            " holds withdrew consent"
        )

    def _record(
        self,
        principal: Principal | None,
        facts: RequestFacts,
        dataset_id: str | None,
        object_id: str | None,
        *,
        decision: str,
        disclosure: Disclosure,
        visa_ids: tuple[str, ...] = (),
        durable: bool = False,
        refused: tuple[RefusedVisa, ...] = (),
    ) -> None:
        identity = principal.identity if principal is not None else None
        self._audit.record(
            AuditEvent(
                time=self._clock(),
                subject_iss=identity[0] if identity else None,
                subject_sub=identity[1] if identity else None,
                operation=facts.operation,
                dataset_id=dataset_id,
                object_id=object_id,
                decision=decision,
                disclosure=disclosure.value,
                visa_ids=visa_ids,
                client_address=facts.client_address,
                request_id=facts.request_id,
                refused_visas=refused,
            ),
            durable=durable,
        )


def _is_grant(permit: Permit, level: Disclosure) -> bool:
    """Whether an allowed decision at ``level`` grants records or file bytes of non-public
    data: such a decision is committed to the audit trail before it is answered."""
    public = permit.security_level is SecurityLevel.PUBLIC
    return level.rank >= Disclosure.RECORD.rank and not public


def _is_passport(token: str) -> bool:
    header = header_of(token)
    return header is not None and header.get("typ") == PASSPORT_TYP
