"""The one privacy gate every Beacon data operation passes (decision record 0016).

A Beacon answer about the node's data is built in one fixed sequence, here and nowhere else:

1. **permits**: one decision per declared dataset (or the one a path names), each written to
   the audit trail; datasets the caller may not know of (disclosure ``none``) are left out;
2. **granularity**: ``min(requestedGranularity, the best permit)`` (Beacon v2 framework
   ``beaconRequestBody.requestedGranularity``, ``beaconResponseMeta.returnedGranularity``);
   each dataset is answered at ``min(that, its own permit)``. Before records of a non-public
   dataset are disclosed, the decisions are committed to the audit trail (decision record 0015);
3. **budget check**: refused (429) when the caller's window is spent; never depends on the
   answer (gdi_node.beacon.store.budget);
4. **scopes and filters**: one read session; the Beacon scopes (who is in which dataset, who
   opted out) current for the generation read, and the request's filters resolved against them
   (the GDI network's population filters apart: only g_variants takes them, decision record
   0018);
5. **answer**: the operation's answerer, given only what the gate decided and read, never the
   service that called it. It may say the scopes proved stale (None): it is run again on fresh
   ones, so an answer never mixes two generations (decision record 0014);
6. **budget spend**: the base cost plus the rare cost for each rare reveal the answer reports;
7. **shape**: the answerer's response document. A "not found" is raised only here, after the
   spend, so probing for an id is never free. A credential the caller presented but the node
   could not accept (the caller was answered as anonymous) is named in its ``info``
   (decision record 0028).

Operations that disclose nothing about the data (``/``, ``/info``, ``/configuration``,
``/map``, ``/entry_types``, ``/service-info``) do not pass the gate; the Beacon operation table
(gdi_node.beacon.api) names them, and a test checks every other operation is audited and
charged exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.framework.documents import EntryType
from gdi_node.beacon.framework.filters import VARIANT_SCOPE, Filter
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity
from gdi_node.beacon.framework.responses import ignored_credential_info, response_meta
from gdi_node.beacon.model.precision import EXACT, CountPolicy
from gdi_node.beacon.queries.filter_match import FilterIndexCache, Matched
from gdi_node.beacon.queries.population_filters import PopulationFilter
from gdi_node.beacon.queries.population_filters import split as split_population_filters
from gdi_node.beacon.queries.scopes import ScopeCache, Scopes
from gdi_node.beacon.store.budget import QueryBudget
from gdi_node.config.settings import SecurityLevel, Settings
from gdi_node.config.trust import Audience, Disclosure
from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.passport.authorizer import Authorizer, RequestFacts
from gdi_node.passport.permits import Permit
from gdi_node.passport.principal import Principal

_GRANULARITY = {
    Disclosure.BOOLEAN: Granularity.BOOLEAN,
    Disclosure.COUNT: Granularity.COUNT,
    Disclosure.RECORD: Granularity.RECORD,
    Disclosure.FILE: Granularity.RECORD,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Caller:
    """Who asks (verified credentials) and the facts of the request (address, operation);
    ``ignored_credential``: why a credential presented was ignored and the caller answered as
    anonymous (decision record 0028), None when none was."""

    principal: Principal
    facts: RequestFacts
    ignored_credential: str | None = None

    @property
    def budget_key(self) -> str:
        """Whose budget a query spends: the identity, or the client address when anonymous."""
        identity = self.principal.identity
        if identity is not None:
            return f"{identity[0]}|{identity[1]}"[:200]
        return f"address:{self.facts.client_address or 'unknown'}"


@dataclass(frozen=True)
class Operation:
    """One Beacon data operation as the gate sees it.

    ``described``: the object of the audited decisions (control characters replaced: the
    audit trail refuses NUL); ``only``: the dataset a path names (``/datasets/{id}/…``, by its
    id or its public identifier: decision record 0026), an unknown or hidden one is a 404;
    ``speculative``: the answerer may start from the scopes this worker built last and checks
    their generation itself; ``populations``: the answerer narrows to the population filters
    (gdi_node.beacon.queries.population_filters), which are a 400 for other operations;
    ``ceiling``: the most the operation ever answers at (a variant-less g_variants: boolean)."""

    request: BeaconRequest
    described: str
    only: str | None = None
    speculative: bool = False
    populations: bool = False
    ceiling: Granularity | None = None


@dataclass(frozen=True)
class Decided:
    """What the gate decided before any data is read: the permits of the datasets answered,
    the response's granularity, and from them each dataset's level and count policy."""

    request: BeaconRequest
    permits: Mapping[str, Permit]
    granularity: Granularity
    beacon_id: str
    small_count_policy: CountPolicy
    rare_carriers: int
    public_ids: Mapping[str, str] = field(default_factory=dict)

    def public_id(self, dataset_id: str) -> str:
        """The identifier a response names the dataset by: its result-set ``id`` (decision
        record 0026); the dataset id when it has no other."""
        return self.public_ids.get(dataset_id, dataset_id)

    @property
    def dataset_ids(self) -> list[str]:
        return list(self.permits)

    def level(self, dataset_id: str) -> Granularity:
        """The granularity one dataset is answered at: the response's, capped by its permit."""
        own = _GRANULARITY[self.permits[dataset_id].disclosure]
        return min(self.granularity, own, key=lambda g: g.rank)

    def controlled(self, dataset_id: str) -> bool:
        """The caller holds a controlled-access grant for the dataset."""
        return self.permits[dataset_id].audience is Audience.CONTROLLED

    def policy(self, dataset_id: str) -> CountPolicy:
        """Exact counts under a controlled-access grant; the small-count policy otherwise."""
        return EXACT if self.controlled(dataset_id) else self.small_count_policy

    def rare_carriers_for(self, dataset_id: str) -> int:
        """At most this many carriers make an allele rare for the budget (0: never charged)."""
        return 0 if self.controlled(dataset_id) else self.rare_carriers

    def meta(self, entry: EntryType) -> dict[str, Any]:
        """The response ``meta`` (framework ``beaconResponseMeta``) of an answer of ``entry``."""
        return response_meta(self.beacon_id, self.request, entry, self.granularity)


class Reading:
    """One read of the data under the gate's decisions: a session, the Beacon scopes it was
    read with, the request's filters resolved against them (only when asked for) and the
    population its population filters select (None: none)."""

    def __init__(
        self,
        session: Session,
        scopes: Scopes,
        matcher: Callable[[Session, Scopes], tuple[Matched, ...]],
        population: PopulationFilter | None = None,
        *,
        speculative: bool,
    ) -> None:
        self.session = session
        self.scopes = scopes
        self.speculative = speculative
        self.population = population
        self._matcher = matcher

    @cached_property
    def matched(self) -> tuple[Matched, ...]:
        """What each of the request's filters matches (AND-combined by the answerer)."""
        return self._matcher(self.session, self.scopes)


@dataclass(frozen=True)
class Answered:
    """An answer read under the gate, before the spend: how many rare reveals it makes
    (charged at the rare cost each) and how to build its response document (which may raise
    NotFoundError: after the spend)."""

    rare_reveals: int
    response: Callable[[], dict[str, Any]]


# None: the scopes proved not current (or a speculative start does not apply): read again
Answerer = Callable[[Reading, Decided], Answered | None]


class PrivacyGate:
    def __init__(
        self,
        settings: Settings,
        authorizer: Authorizer,
        *,
        budget: QueryBudget,
        read_sessions: sessionmaker[Session],
        filter_index: FilterIndexCache,
        beacon_id: str,
    ) -> None:
        """``read_sessions`` answer (read only); the budget writes with its own sessions."""
        beacon = settings.beacon
        self._datasets = [d.id for d in settings.datasets]
        self._public_ids = {d.id: d.public_id for d in settings.datasets}
        # a path names a dataset by its id or by its public identifier (decision record 0026)
        self._named = {
            **{d.public_id: d.id for d in settings.datasets},
            **{i: i for i in self._datasets},
        }
        self._authorizer = authorizer
        self._budget = budget
        self._sessions = read_sessions
        self._scopes = ScopeCache()
        self._filter_index = filter_index
        self._beacon_id = beacon_id
        self._policy = CountPolicy(beacon.small_count_threshold, beacon.count_rounding)

    def answer(self, caller: Caller, operation: Operation, answerer: Answerer) -> dict[str, Any]:
        """Run the privacy sequence (module docstring) around ``answerer``."""
        request = operation.request
        permits = self._permits(caller, operation)
        granularity = self._settled_granularity(request, permits, operation.ceiling)
        budget_key = caller.budget_key
        self._budget.check(budget_key)
        decided = Decided(
            request,
            permits,
            granularity,
            self._beacon_id,
            self._policy,
            self._budget.config.rare_carriers,
            self._public_ids,
        )
        population, filters = split_population_filters(request.filters)
        if population is not None and not operation.populations:
            raise InvalidInputError(
                "sexFilter and countryFilter (scope population) narrow g_variants frequencies only"
            )
        if not operation.populations and any(f.scope == VARIANT_SCOPE for f in filters):
            raise InvalidInputError(f"a filter scoped to {VARIANT_SCOPE} narrows g_variants only")
        matcher = self._matcher(filters, list(permits))
        answered: Answered | None = None
        with self._sessions() as session:
            cached = self._scopes.cached() if operation.speculative else None
            if cached is not None:
                reading = Reading(session, cached, matcher, population, speculative=True)
                answered = answerer(reading, decided)
            while answered is None:
                scopes = self._scopes.get(session)
                reading = Reading(session, scopes, matcher, population, speculative=False)
                answered = answerer(reading, decided)
        config = self._budget.config
        self._budget.spend(budget_key, config.base_cost + answered.rare_reveals * config.rare_cost)
        document = answered.response()
        if caller.ignored_credential is not None:
            document["info"] = {
                **document.get("info", {}),
                **ignored_credential_info(caller.ignored_credential),
            }
        return document

    def _permits(self, caller: Caller, operation: Operation) -> dict[str, Permit]:
        """Permits of the datasets the caller may know of, each decision audited."""
        described = _CONTROL.sub("?", operation.described)[:500]
        only = operation.only
        only = self._named.get(only, only) if only is not None else None
        permits = {}
        for dataset_id in self._datasets:
            if only is not None and dataset_id != only:
                continue
            permit = self._authorizer.decide(
                caller.principal, dataset_id, caller.facts, object_id=described
            )
            if permit.allows(Disclosure.BOOLEAN):
                permits[dataset_id] = permit
        if only is not None and not permits:
            raise NotFoundError(f"no dataset {operation.only!r}")
        return permits

    def _settled_granularity(
        self,
        request: BeaconRequest,
        permits: Mapping[str, Permit],
        ceiling: Granularity | None = None,
    ) -> Granularity:
        """The response's granularity (at most ``ceiling``); when it discloses records of a
        non-public dataset, the decisions that allowed it are committed to the audit trail
        before anything is read."""
        requested = request.granularity or Granularity.BOOLEAN
        best = max(
            (_GRANULARITY[p.disclosure] for p in permits.values()),
            key=lambda g: g.rank,
            default=Granularity.BOOLEAN,
        )
        granularity = min(requested, best, ceiling or best, key=lambda g: g.rank)
        if granularity is Granularity.RECORD and any(
            p.security_level is not SecurityLevel.PUBLIC and p.allows(Disclosure.RECORD)
            for p in permits.values()
        ):
            self._authorizer.confirm_recorded()
        return granularity

    def _matcher(
        self, filters: tuple[Filter, ...], dataset_ids: list[str]
    ) -> Callable[[Session, Scopes], tuple[Matched, ...]]:
        def matched(session: Session, scopes: Scopes) -> tuple[Matched, ...]:
            if not filters:
                return ()
            matcher = self._filter_index.matcher(session, scopes.generation)
            return tuple(matcher.resolve(filters, dataset_ids))

        return matched
