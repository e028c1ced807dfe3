"""Permits: the one answer to "what may this principal do with this dataset".

The audience of a principal for a dataset is ``controlled`` when it holds an accepted
ControlledAccessGrants visa whose ``value`` is one of the dataset's grant values, whose
``source`` is one of the dataset's DACs and whose issuer is bound to that DAC for the dataset
(Passport v1.2, General Requirements 8.3; ``gdi_node.passport.grants``). A grant for the dataset
from any other issuer is refused: it grants nothing and the permit names it, so the audit row
of the decision shows it. ``registered`` with Registered Access (AcceptedTermsAndPolicies
and ResearcherStatus, both from one identity); otherwise ``anonymous``. The dataset's disclosure
limit for that audience applies, and the residency rule caps record-level data and file bytes
of REGISTERED and CONTROLLED datasets to requests from configured networks (else aggregates).
Everything a permit grants expires no later than the earliest visa it used (Passport v1.2,
Visa Expiry: "Expiry when using multiple Visas").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address

from gdi_node.config.settings import DatasetSettings, SecurityLevel
from gdi_node.config.trust import Audience, Disclosure, TrustSettings
from gdi_node.errors import ForbiddenError, NotFoundError, UnauthorizedError
from gdi_node.passport.grants import GrantBindings
from gdi_node.passport.principal import Principal
from gdi_node.passport.visas import Visa


@dataclass(frozen=True)
class Permit:
    """What one principal may see of one dataset, for how long, and why."""

    dataset_id: str
    security_level: SecurityLevel
    audience: Audience
    disclosure: Disclosure
    residency_ok: bool
    visas_used: tuple[Visa, ...]
    expires_at: int | None
    refused_grants: tuple[Visa, ...] = ()  # grants for the dataset from issuers not bound to it

    def allows(self, level: Disclosure) -> bool:
        return self.disclosure.rank >= level.rank

    def require(self, level: Disclosure, principal: Principal) -> None:
        """Raise the documented error unless ``level`` is allowed.

        404 when the principal may not even know the dataset exists (disclosure none), 401
        when an anonymous caller might get more by authenticating, 403 otherwise.
        """
        if self.allows(level):
            return
        if self.disclosure is Disclosure.NONE:
            raise NotFoundError(f"no dataset {self.dataset_id!r}")
        if principal.is_anonymous:
            raise UnauthorizedError(
                f"{level.value} access to dataset {self.dataset_id!r} needs a passport"
            )
        raise ForbiddenError(
            f"your visas allow {self.disclosure.value} access to dataset {self.dataset_id!r},"
            f" not {level.value}"
        )


class PermitPolicy:
    """Evaluates permits from the declared datasets and the trust settings."""

    def __init__(
        self,
        datasets: Sequence[DatasetSettings],
        trust: TrustSettings,
        implicit_grantors: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``implicit_grantors``: (issuer, source) pairs whose source is a DAC of every dataset
        and whose issuer is bound to it (the local issuer of demos and tests)."""
        self._datasets = {d.id: d for d in datasets}
        self._trust = trust
        self._implicit_dacs = frozenset(source for _, source in implicit_grantors)
        self._bindings = GrantBindings(trust, implicit_grantors)
        self._networks = trust.residency.parsed()

    def unbound_dac_sources(self) -> list[tuple[str, str]]:
        """(dataset id, DAC source) pairs no visa issuer is bound to: such grants are refused."""
        return [
            (dataset.id, source)
            for dataset in self._datasets.values()
            for source in self._bindings.sources_without_issuer(dataset.id, dataset.dac_sources)
        ]

    @property
    def dataset_ids(self) -> list[str]:
        return list(self._datasets)

    def in_residency(self, client_address: str | None) -> bool:
        if not client_address:
            return False
        try:
            address = ip_address(client_address)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def _grant(
        self, principal: Principal, dataset: DatasetSettings
    ) -> tuple[Visa | None, tuple[Visa, ...]]:
        """The grant to use (earliest expiry) and the refused grants from unbound issuers."""
        sources = set(dataset.dac_sources) | self._implicit_dacs
        grants = [
            v
            for v in principal.visas
            if v.type == "ControlledAccessGrants"
            and v.value in dataset.grant_values
            and v.source in sources
        ]
        bound: list[Visa] = []
        refused: list[Visa] = []
        for visa in grants:
            allowed = self._bindings.allows(visa.iss, visa.source, dataset.id)
            (bound if allowed else refused).append(visa)
        return min(bound, key=lambda v: v.exp, default=None), tuple(refused)

    def registered_access(self, principal: Principal) -> bool:
        """Whether ``principal`` holds Registered Access (Passport v1, §Registered Access)."""
        return self._registered(principal) is not None

    def _registered(self, principal: Principal) -> tuple[Visa, Visa] | None:
        rules = self._trust.registered_access
        best: tuple[Visa, Visa] | None = None
        for group in principal.groups:
            terms = [
                v
                for v in group
                if v.type == "AcceptedTermsAndPolicies"
                and v.value == rules.accepted_terms_value
                and (not rules.sources or v.source in rules.sources)
            ]
            status = [
                v
                for v in group
                if v.type == "ResearcherStatus"
                and v.value == rules.researcher_status_value
                and (not rules.sources or v.source in rules.sources)
            ]
            if terms and status:
                pair = (max(terms, key=lambda v: v.exp), max(status, key=lambda v: v.exp))
                if best is None or min(p.exp for p in pair) > min(p.exp for p in best):
                    best = pair
        return best

    def visible(self, principal: Principal, dataset_id: str, client_address: str | None) -> bool:
        """Whether ``principal`` may know that ``dataset_id`` exists (disclosure above none)."""
        try:
            permit = self.permit(principal, dataset_id, client_address)
        except NotFoundError:
            return False
        return permit.disclosure is not Disclosure.NONE

    def permit(self, principal: Principal, dataset_id: str, client_address: str | None) -> Permit:
        """The permit of ``principal`` for ``dataset_id``; unknown datasets raise 404."""
        dataset = self._datasets.get(dataset_id)
        if dataset is None:
            raise NotFoundError(f"no dataset {dataset_id!r}")
        used: tuple[Visa, ...] = ()
        audience = Audience.ANONYMOUS
        grant, refused = self._grant(principal, dataset)
        if grant is not None:
            audience, used = Audience.CONTROLLED, (grant,)
        else:
            registered = self._registered(principal)
            if registered is not None:
                audience, used = Audience.REGISTERED, registered
        disclosure = dataset.disclosure_limits.for_audience(audience)
        residency_ok = True
        if dataset.security_level is not SecurityLevel.PUBLIC:
            residency_ok = self.in_residency(client_address)
            if not residency_ok:
                disclosure = disclosure.at_most(Disclosure.COUNT)
        return Permit(
            dataset_id=dataset.id,
            security_level=dataset.security_level,
            audience=audience,
            disclosure=disclosure,
            residency_ok=residency_ok,
            visas_used=used,
            expires_at=min((v.exp for v in used), default=None),
            refused_grants=refused,
        )
