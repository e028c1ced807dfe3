"""Beacon v2 protocol logic: per-dataset permits, variant queries, counts, granularity.

Every query asks the passport layer for a permit per declared dataset (each decision is
audited). A dataset the caller may not know of (disclosure ``none``) is left out; every other
one is answered at ``min(requested granularity, what its permit allows)``: ``boolean``,
``count`` or ``record`` (``file`` counts as ``record``). Counts below the configured threshold
in allele counts and frequencies are reported imprecise unless the caller holds a
controlled-access grant (precision.py); the number of variants found is exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity, VariantQuery
from gdi_node.beacon.framework.responses import response_meta, shape_g_variants
from gdi_node.beacon.model.ontology import Ontologies, load_cached, ontology_files
from gdi_node.beacon.model.precision import EXACT, CountPolicy
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.filter_match import FilterIndexCache, Matched
from gdi_node.beacon.queries.scopes import ScopeCache, Scopes
from gdi_node.beacon.queries.small_scopes import SmallScopes
from gdi_node.beacon.queries.variant_answers import Asked, VariantAnswers, Within
from gdi_node.beacon.store.budget import QueryBudget
from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.passport.authorizer import Authorizer, RequestFacts
from gdi_node.passport.config import Audience, Disclosure
from gdi_node.passport.permits import Permit
from gdi_node.passport.principal import Principal
from gdi_node.resources import shipped_dir
from gdi_node.service_info import service_info
from gdi_node.settings import SecurityLevel, Settings

_GRANULARITY = {
    Disclosure.BOOLEAN: Granularity.BOOLEAN,
    Disclosure.COUNT: Granularity.COUNT,
    Disclosure.RECORD: Granularity.RECORD,
    Disclosure.FILE: Granularity.RECORD,
}
G_VARIANT = framework.BY_PATH["g_variants"]
BASE_PATH = "/ga4gh/beacon/v2"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BeaconService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        authorizer: Authorizer,
        *,
        base_url: str,
        started_at: Callable[[], str],
        read_sessions: sessionmaker[Session] | None = None,
    ) -> None:
        """``sessions`` write (the query budget); ``read_sessions`` (default: ``sessions``)
        answer queries, which only read (gdi_node.db.engine.make_read_session_factory)."""
        self._settings = settings
        self._sessions = read_sessions or sessions
        self._authorizer = authorizer
        self._base_url = base_url
        self._started_at = started_at
        self._scopes = ScopeCache()
        self._budget = QueryBudget(sessions, settings.beacon.budget)
        beacon = settings.beacon
        self._policy = CountPolicy(beacon.small_count_threshold, beacon.count_rounding)
        self._small_scopes = SmallScopes(beacon.small_count_threshold)
        self._filter_index = FilterIndexCache(self._load_ontologies)
        self._public_url = settings.public_url
        self._variants = VariantAnswers(self)

    def _load_ontologies(self) -> Ontologies:
        shipped = shipped_dir("beacon") / "ontologies"
        return load_cached(ontology_files(shipped, self._settings.beacon.ontology_files))

    # -- shared with the metadata queries (gdi_node.beacon.queries.metadata) -------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def beacon_id(self) -> str:
        return framework.beacon_id(self._settings)

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def budget(self) -> QueryBudget:
        return self._budget

    @property
    def small_scopes(self) -> SmallScopes:
        """The one check of narrowed scopes both the variant and the entry answers go
        through (decision record 0013)."""
        return self._small_scopes

    @property
    def ontologies(self) -> Ontologies:
        return self._filter_index.ontologies

    def sessions(self) -> Session:
        return self._sessions()

    def scopes_of(self, session: Session) -> Scopes:
        return self._scopes.get(session)

    def policy_for(self, permit: Permit) -> CountPolicy:
        return EXACT if permit.audience is Audience.CONTROLLED else self._policy

    @staticmethod
    def level(granularity: Granularity, permit: Permit) -> Granularity:
        return min(granularity, _GRANULARITY[permit.disclosure], key=lambda g: g.rank)

    @staticmethod
    def budget_key(principal: Principal, facts: RequestFacts) -> str:
        return _budget_key(principal, facts)

    def filter_matches(
        self, session: Session, scopes: Scopes, request: BeaconRequest, dataset_ids: list[str]
    ) -> tuple[Matched, ...]:
        """What each of the request's filters matches (AND-combined by the caller)."""
        if not request.filters:
            return ()
        matcher = self._filter_index.matcher(session, scopes.generation)
        return tuple(matcher.resolve(request.filters, dataset_ids))

    # -- framework ---------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return framework.info_response(self._settings, self._base_url, self._started_at())

    def service_info(self) -> dict[str, Any]:
        return service_info(
            self._settings,
            suffix="beacon",
            name="Beacon",
            artifact="beacon",
            version="2.1.1",
            description="Beacon v2 discovery and the national allele-frequency database",
            started_at=self._started_at(),
        )

    def configuration(self) -> dict[str, Any]:
        levels = sorted({d.security_level.value for d in self._settings.datasets})
        return framework.configuration_response(self._settings, levels)

    def map(self) -> dict[str, Any]:
        return framework.map_response(self._settings, self._base_url)

    def entry_types(self) -> dict[str, Any]:
        return framework.entry_types_response(self._settings)

    def collections(
        self,
        request: BeaconRequest,
        collections: list[dict[str, Any]],
        entry: framework.EntryType,
    ) -> dict[str, Any]:
        """A collection response (datasets, cohorts): one page of documents."""
        page = collections[request.skip * request.limit : (request.skip + 1) * request.limit]
        return {
            "meta": response_meta(
                framework.beacon_id(self._settings), request, entry, Granularity.RECORD
            ),
            "responseSummary": {"exists": bool(collections), "numTotalResults": len(collections)},
            "response": {"collections": page},
        }

    # -- g_variants --------------------------------------------------------------------------

    def g_variants(
        self,
        request: BeaconRequest,
        principal: Principal,
        facts: RequestFacts,
        *,
        dataset_id: str | None = None,
        variant_id: str | None = None,
        within: Within | None = None,
    ) -> dict[str, Any]:
        """``within``: the samples a path restricts the answer to (an individual's)."""
        framework.check_requested_schemas(G_VARIANT, request.requested_schemas)
        key = AlleleKey.parse(variant_id) if variant_id is not None else None
        if variant_id is not None and key is None:
            raise NotFoundError(f"no variant {variant_id!r}; ids look like GRCh38:22:10516173:A:G")
        query = request.variant
        if key is None and query.kind() == "none":
            raise InvalidInputError(
                "g_variants needs a variant query: a position (referenceName, start, end or"
                " alternateBases), geneId, aminoacidChange or genomicAlleleShortForm"
            )
        described = variant_id or _describe(query)
        permits = self.permits(principal, facts, f"g_variants {described}", only=dataset_id)
        granularity = self.settled_granularity(request, permits)
        budget_key = _budget_key(principal, facts)
        self._budget.check(budget_key)
        asked = Asked(request, permits, granularity, key, within)
        variants = self._variants
        with self._sessions() as session:
            # a count the database makes reads the generation in its own statement: it may
            # start from the scopes built last and is redone if they were not current
            cached = self._scopes.cached()
            answers = variants.answer(session, cached, asked, speculative=True) if cached else None
            while answers is None:
                answers = variants.answer(session, self._scopes.get(session), asked)
        spent = sum(a.rare_revealed for a in answers) * self._budget.config.rare_cost
        self._budget.spend(budget_key, self._budget.config.base_cost + spent)
        meta = response_meta(framework.beacon_id(self._settings), request, G_VARIANT, granularity)
        return shape_g_variants(meta, request, granularity, answers)

    def dataset_name(self, dataset_id: str) -> str:
        return next((d.name for d in self._settings.datasets if d.id == dataset_id), dataset_id)

    # -- permits -----------------------------------------------------------------------------

    def permits(
        self,
        principal: Principal,
        facts: RequestFacts,
        described: str,
        *,
        only: str | None = None,
    ) -> dict[str, Permit]:
        """Permits of the datasets the caller may know of (each decision audited, with the
        query described without control characters: the audit trail refuses NUL)."""
        described = _CONTROL.sub("?", described)
        declared = [d.id for d in self._settings.datasets if only is None or d.id == only]
        permits = {}
        for dataset_id in declared:
            permit = self._authorizer.decide(principal, dataset_id, facts, object_id=described)
            if permit.allows(Disclosure.BOOLEAN):
                permits[dataset_id] = permit
        if only is not None and not permits:
            raise NotFoundError(f"no dataset {only!r}")
        return permits

    def settled_granularity(
        self, request: BeaconRequest, permits: dict[str, Permit]
    ) -> Granularity:
        """The granularity of this answer. When it discloses records of a non-public dataset,
        the decisions that allowed it are committed to the audit trail before anything is
        answered (decision record 0015: a crash never loses a record-level grant)."""
        granularity = self.granularity(request, permits)
        if granularity is Granularity.RECORD and any(
            p.security_level is not SecurityLevel.PUBLIC and p.allows(Disclosure.RECORD)
            for p in permits.values()
        ):
            self._authorizer.confirm_recorded()
        return granularity

    @staticmethod
    def granularity(request: BeaconRequest, permits: dict[str, Permit]) -> Granularity:
        requested = request.granularity or Granularity.BOOLEAN
        best = max(
            (_GRANULARITY[p.disclosure] for p in permits.values()),
            key=lambda g: g.rank,
            default=Granularity.BOOLEAN,
        )
        return min(requested, best, key=lambda g: g.rank)


def _budget_key(principal: Principal, facts: RequestFacts) -> str:
    """Whose budget a query spends: the identity, or the client address when anonymous."""
    identity = principal.identity
    if identity is not None:
        return f"{identity[0]}|{identity[1]}"[:200]
    return f"address:{facts.client_address or 'unknown'}"


def _describe(query: VariantQuery) -> str:
    parts = [f"{k}={v}" for k, v in vars(query).items() if v not in (None, ())]
    return " ".join(parts)[:500]
