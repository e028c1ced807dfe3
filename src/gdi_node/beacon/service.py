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
from dataclasses import replace
from typing import Any

from pyroaring import BitMap
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon import framework
from gdi_node.beacon.alleles import Allele, Counter, group_alleles
from gdi_node.beacon.answers import (
    AnswerContext,
    DatasetAnswer,
    answer_dataset,
    answer_from_totals,
)
from gdi_node.beacon.budget import QueryBudget
from gdi_node.beacon.entries import EntryRepository
from gdi_node.beacon.entry_service import individuals_passing
from gdi_node.beacon.filter_match import FilterIndexCache, Matched
from gdi_node.beacon.ontology import Ontologies, load_cached, ontology_files
from gdi_node.beacon.precision import EXACT, CountPolicy
from gdi_node.beacon.repository import Located, VariantRepository, locate
from gdi_node.beacon.requests import BeaconRequest, Granularity, VariantQuery
from gdi_node.beacon.responses import response_meta, shape_g_variants
from gdi_node.beacon.scopes import ScopeCache, Scopes
from gdi_node.beacon.variants import AlleleKey
from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.passport.authorizer import Authorizer, RequestFacts
from gdi_node.passport.config import Audience, Disclosure
from gdi_node.passport.permits import Permit
from gdi_node.passport.principal import Principal
from gdi_node.resources import shipped_dir
from gdi_node.service_info import service_info
from gdi_node.settings import Settings

_GRANULARITY = {
    Disclosure.BOOLEAN: Granularity.BOOLEAN,
    Disclosure.COUNT: Granularity.COUNT,
    Disclosure.RECORD: Granularity.RECORD,
    Disclosure.FILE: Granularity.RECORD,
}
G_VARIANT = framework.BY_PATH["g_variants"]
BASE_PATH = "/ga4gh/beacon/v2"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# samples a path restricts g_variants to, per dataset (/individuals/{id}/g_variants, …)
Within = Callable[[Session, Scopes, list[str]], dict[str, BitMap]]


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
        self._filter_index = FilterIndexCache(self._load_ontologies)
        self._public_url = settings.public_url

    def _load_ontologies(self) -> Ontologies:
        shipped = shipped_dir("beacon") / "ontologies"
        return load_cached(ontology_files(shipped, self._settings.beacon.ontology_files))

    # -- shared with the metadata queries (gdi_node.beacon.metadata_service) -------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def beacon_id(self) -> str:
        return framework.beacon_id(self._settings)

    @property
    def budget(self) -> QueryBudget:
        return self._budget

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
        granularity = self.granularity(request, permits)
        budget_key = _budget_key(principal, facts)
        self._budget.check(budget_key)
        with self._sessions() as session:
            scopes = self._scopes.get(session)
            repo = VariantRepository(session, scopes.max_span, scopes.one_row_per_allele)
            ids = list(permits)
            restricted = self._restriction(session, scopes, request, ids, within)
            # without opt-outs in these datasets (and no filter narrowing them), the stored
            # carrier counts are exact: read no bitmaps but those of the records shown
            light = key is None and restricted is None and all(d in scopes.complete for d in ids)
            contexts = self._contexts(permits, scopes, granularity, request, by_id=key is not None)
            if restricted is not None:
                contexts = {d: replace(c, scope=restricted[d]) for d, c in contexts.items()}
            if key is not None:
                rows = repo.by_allele(key, ids)
                answers = self._answer_rows(rows, contexts, scopes, request, repo, light=False)
            else:
                assemblies, located = locate(query)
                if _counted_in_database(query, restricted, contexts, scopes):
                    answers = self._answer_counted(
                        repo, contexts, scopes, request, (query, located, assemblies)
                    )
                else:
                    rows = repo.find(query, located, ids, assemblies, full=not light)
                    answers = self._answer_rows(rows, contexts, scopes, request, repo, light=light)
        spent = sum(a.rare_revealed for a in answers) * self._budget.config.rare_cost
        self._budget.spend(budget_key, self._budget.config.base_cost + spent)
        meta = response_meta(framework.beacon_id(self._settings), request, G_VARIANT, granularity)
        return shape_g_variants(meta, request, granularity, answers)

    def _restriction(
        self,
        session: Session,
        scopes: Scopes,
        request: BeaconRequest,
        dataset_ids: list[str],
        within: Within | None,
    ) -> dict[str, BitMap] | None:
        """The samples counted per dataset when filters or a path narrow the answer (the
        consenting samples of the individuals passing every filter); None: whole datasets."""
        if not request.filters and within is None:
            return None
        matched = self.filter_matches(session, scopes, request, dataset_ids)
        narrowed = within(session, scopes, dataset_ids) if within is not None else None
        repo = EntryRepository(session)
        out = {}
        for dataset_id in dataset_ids:
            scope = scopes.datasets.get(dataset_id, BitMap())
            if narrowed is not None:
                scope = scope & narrowed.get(dataset_id, BitMap())
            if matched:
                passing = individuals_passing(repo, scopes, matched, dataset_id)
                scope = scope & scopes.samples_of_individuals(dataset_id, passing)
            out[dataset_id] = scope
        return out

    def _contexts(
        self,
        permits: dict[str, Permit],
        scopes: Scopes,
        granularity: Granularity,
        request: BeaconRequest,
        *,
        by_id: bool,
    ) -> dict[str, AnswerContext]:
        contexts = {}
        for dataset_id, permit in permits.items():
            controlled = permit.audience is Audience.CONTROLLED
            contexts[dataset_id] = AnswerContext(
                dataset_id=dataset_id,
                level=self.level(granularity, permit),
                policy=self.policy_for(permit),
                source=(
                    self._dataset_name(dataset_id),
                    f"{self._base_url}/datasets/{dataset_id}",
                    f"generation {scopes.generation}",
                ),
                allele_specific=by_id or _allele_specific(request.variant),
                rare_carriers=0 if controlled else self._budget.config.rare_carriers,
            )
        return contexts

    @staticmethod
    def _answer_rows(
        rows: list[Any],
        contexts: dict[str, AnswerContext],
        scopes: Scopes,
        request: BeaconRequest,
        repo: VariantRepository,
        *,
        light: bool,
    ) -> list[DatasetAnswer]:
        """Answers from the matching rows (bitmaps intersected unless ``light``)."""
        by_dataset: dict[str, list[Any]] = {d: [] for d in contexts}
        for row in rows:
            by_dataset[row.dataset_id].append(row)
        counter = Counter(scopes)
        return [
            answer_dataset(
                replace(context, light=light), by_dataset[dataset_id], scopes, counter, request,
                full_rows=repo.full_rows,
            )
            for dataset_id, context in contexts.items()
        ]  # fmt: skip

    @staticmethod
    def _answer_counted(
        repo: VariantRepository,
        contexts: dict[str, AnswerContext],
        scopes: Scopes,
        request: BeaconRequest,
        where: tuple[VariantQuery, Located | None, list[str]],
    ) -> list[DatasetAnswer]:
        """Answers with the alleles counted by the database (stored carrier counts) and only
        the shown page's rows read."""
        query, located, assemblies = where
        opted_out = {
            d: (scopes.opted_out_samples[d], scopes.datasets[d])
            for d in contexts
            if d not in scopes.complete
        }
        totals = repo.count_alleles(query, located, list(contexts), assemblies, opted_out)
        counter = Counter(scopes)
        answers = []
        for dataset_id, context in contexts.items():
            total = totals.get(dataset_id, 0)
            page: list[tuple[Allele, int]] = []
            if context.level is Granularity.RECORD and total:
                keys = repo.allele_page(
                    query, located, dataset_id, assemblies,
                    offset=request.skip * request.limit, limit=request.limit,
                )  # fmt: skip
                found = {
                    a.key: a for a in group_alleles(repo.rows_of([k for k, _ in keys], dataset_id))
                }
                page = [(found[k], carriers) for k, carriers in keys]
            answers.append(answer_from_totals(context, total, page, scopes, counter))
        return answers

    def _dataset_name(self, dataset_id: str) -> str:
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

    @staticmethod
    def granularity(request: BeaconRequest, permits: dict[str, Permit]) -> Granularity:
        requested = request.granularity or Granularity.BOOLEAN
        best = max(
            (_GRANULARITY[p.disclosure] for p in permits.values()),
            key=lambda g: g.rank,
            default=Granularity.BOOLEAN,
        )
        return min(requested, best, key=lambda g: g.rank)


def _counted_in_database(
    query: VariantQuery,
    restricted: dict[str, BitMap] | None,
    contexts: dict[str, AnswerContext],
    scopes: Scopes,
) -> bool:
    """Whether the database counts the answer from stored carrier counts: the whole of each
    dataset in scope (no filter or path narrowing it) and, in a dataset where someone opted
    out, one row per allele and no records to show (their frequencies need the bitmaps)."""
    if restricted is not None or not _countable_in_database(query):
        return False
    return all(
        d in scopes.complete
        or (d in scopes.one_row_per_allele and context.level is not Granularity.RECORD)
        for d, context in contexts.items()
    )


def _countable_in_database(query: VariantQuery) -> bool:
    """Whether the database can count the matches (lengths are computed in Python)."""
    return not _allele_specific(query) and query.min_length is None and query.max_length is None


def _allele_specific(query: VariantQuery) -> bool:
    """A query naming one allele: its answer tells whether that allele is present."""
    return query.genomic_allele_short_form is not None or (
        len(query.start) == 1 and not query.end and query.alternate_bases is not None
    )


def _budget_key(principal: Principal, facts: RequestFacts) -> str:
    """Whose budget a query spends: the identity, or the client address when anonymous."""
    identity = principal.identity
    if identity is not None:
        return f"{identity[0]}|{identity[1]}"[:200]
    return f"address:{facts.client_address or 'unknown'}"


def _describe(query: VariantQuery) -> str:
    parts = [f"{k}={v}" for k, v in vars(query).items() if v not in (None, ())]
    return " ".join(parts)[:500]
