"""Answering a g_variants query from the allele-frequency database, per dataset: which
path reads what (Beacon v2 ``g_variants``). The privacy gate (gdi_node.beacon.queries.gate) has
decided permits, granularity and the budget before, and charges the rare reveals after.

- ``/g_variants/{id}``: the allele's rows, bitmaps intersected with each dataset's scope.
- Counted by the database (stored carrier counts; range counts from bins): whole datasets,
  no filter or path narrowing them, a query that does not name one allele. A dataset where
  someone opted out is counted so only for count and boolean answers. Only the records of
  the page shown are read.
- Otherwise every matching row is read (``light``: without bitmaps when nobody in the
  datasets opted out and nothing narrows them).

The counted path reads the Beacon generation in the same statement as its first count, so it
may start from the scopes a worker built last (``speculative``) and is redone from fresh ones
when they were not current; every other path reads the generation first. Rows read in later
statements are followed by one more read of the generation, and the answer is redone when it
moved: a load creates its (hidden) callset and moves the generation before it writes any row,
so an answer never holds rows of a callset its scopes did not know to leave out (decision
record 0014).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pyroaring import BitMap

from gdi_node.beacon.framework import documents as framework
from gdi_node.beacon.framework.requests import BeaconRequest, Granularity, VariantQuery
from gdi_node.beacon.framework.responses import DatasetAnswer, shape_g_variants
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.alleles import Allele, Counter, group_alleles
from gdi_node.beacon.queries.answers import AnswerContext, answer_dataset, answer_from_totals
from gdi_node.beacon.queries.entry_answers import Within, individuals_passing
from gdi_node.beacon.queries.gate import Answered, Answerer, Decided, Reading
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.beacon.queries.site_calls import with_site_allele_numbers
from gdi_node.beacon.queries.small_scopes import SmallScopes
from gdi_node.beacon.store.entry_rows import EntryRepository
from gdi_node.beacon.store.variant_rows import Located, VariantRepository, locate

G_VARIANT = framework.BY_PATH["g_variants"]


class VariantAnswers:
    def __init__(
        self,
        small_scopes: SmallScopes,
        sources: Mapping[str, tuple[str, str]],
        labels: Mapping[str, str] | None = None,
        *,
        extra_groups: bool = False,
    ) -> None:
        """``sources``: per dataset, its name and URL (the frequencies' ``sourceReference``);
        ``labels``: per dataset, its population label (default: its id); ``extra_groups``:
        records list cohort and free population items too (decision record 0018)."""
        self._small_scopes = small_scopes
        self._sources = sources
        self._labels = dict(labels or {})
        self._extra_groups = extra_groups

    def answerer(self, key: AlleleKey | None, within: Within | None) -> Answerer:
        """The gate's answerer of a g_variants query: ``key`` for ``/g_variants/{id}``,
        ``within`` the samples a path restricts the answer to (an individual's, …)."""

        def answer(reading: Reading, decided: Decided) -> Answered | None:
            answers = self.answer(reading, decided, key, within)
            if answers is None:
                return None
            request, granularity = decided.request, decided.granularity

            def response() -> dict[str, Any]:
                meta = decided.meta(G_VARIANT)
                return shape_g_variants(meta, request, granularity, answers, decided.public_id)

            return Answered(sum(a.rare_revealed for a in answers), response)

        return answer

    def answer(
        self,
        reading: Reading,
        decided: Decided,
        key: AlleleKey | None,
        within: Within | None,
    ) -> list[DatasetAnswer] | None:
        """The answers per dataset; None when the scopes read proved not current (a count read
        another generation) or, if the reading is speculative, when the answer is not one the
        database counts (only that path checks the generation itself)."""
        session, scopes, request = reading.session, reading.scopes, decided.request
        query = request.variant
        if reading.speculative and (key is not None or within is not None or request.filters):
            return None
        repo = VariantRepository(session, scopes.max_span)
        ids = decided.dataset_ids
        narrowed = restriction(reading, decided, within, self._labels)
        restricted = None if narrowed is None else {d: s for d, (_, s) in narrowed.items()}
        withheld: frozenset[str] = frozenset()
        if restricted is not None:  # a narrowed scope: none of a few people's genotypes
            withheld = self._withheld_scopes(scopes, decided, restricted)
            restricted = {d: BitMap() if d in withheld else s for d, s in restricted.items()}
        # without opt-outs in these datasets, no file being loaded or removed and no filter
        # narrowing them, the stored carrier counts are exact: read no bitmaps but those of
        # the records shown
        light = key is None and restricted is None and all(d in scopes.complete for d in ids)
        contexts = self._contexts(decided, scopes, by_id=key is not None)
        if narrowed is not None and restricted is not None:
            contexts = {
                d: replace(c, scope=restricted[d], narrowing=narrowed[d][0])
                for d, c in contexts.items()
            }
        if reading.population is not None:  # the records hold that population's item only
            population = reading.population
            contexts = {
                d: replace(
                    c,
                    population=population.label(c.dataset_label),
                    population_narrows=population.narrows(c.dataset_label),
                )
                for d, c in contexts.items()
            }
        if key is not None:
            rows = repo.by_allele(key, ids)
            answers = self._answer_rows(rows, contexts, scopes, request, repo, light=False)
            return self._current_and_withheld(repo, scopes, answers, withheld)
        assemblies, located = locate(query)
        if _counted_in_database(query, restricted, contexts, scopes):
            where = (query, located, assemblies)
            return self._answer_counted(repo, contexts, scopes, request, where)
        if reading.speculative:
            return None
        rows = repo.find(query, located, ids, assemblies, full=not light)
        answers = self._answer_rows(rows, contexts, scopes, request, repo, light=light)
        whole = restricted is None and reading.population is None
        if located is not None and whole and query.kind() == "sequence":
            answers = with_site_allele_numbers(
                answers, query, located, contexts=contexts, scopes=scopes, repo=repo
            )
        return self._current_and_withheld(repo, scopes, answers, withheld)

    def _current_and_withheld(
        self,
        repo: VariantRepository,
        scopes: Scopes,
        answers: list[DatasetAnswer],
        withheld: frozenset[str],
    ) -> list[DatasetAnswer] | None:
        """``answers`` with the withheld datasets emptied (decision record 0013), or None
        (redo) when the generation moved while their rows were read (decision record 0014)."""
        current = _if_current(repo, scopes, answers)
        return None if current is None else self._small_scopes.withhold(current, withheld)

    def _withheld_scopes(
        self, scopes: Scopes, decided: Decided, restricted: dict[str, BitMap]
    ) -> frozenset[str]:
        """The datasets whose narrowed scope (``restricted``: its samples) is too small to
        answer below record permission, from the people owning those samples among the
        people with a sample in the dataset (read from ``scopes``: no query)."""
        return self._small_scopes.withheld(
            decided.permits,
            people=lambda d: scopes.people_in(d, restricted[d]),
            universe=lambda d: scopes.people.get(d, 0),
        )

    def _contexts(
        self, decided: Decided, scopes: Scopes, *, by_id: bool
    ) -> dict[str, AnswerContext]:
        allele_specific = by_id or _allele_specific(decided.request.variant)
        contexts = {}
        for dataset_id in decided.dataset_ids:
            name, url = self._sources[dataset_id]
            contexts[dataset_id] = AnswerContext(
                dataset_id=dataset_id,
                level=decided.level(dataset_id),
                policy=decided.policy(dataset_id),
                source=(name, url, f"generation {scopes.generation}"),
                allele_specific=allele_specific,
                rare_carriers=decided.rare_carriers_for(dataset_id),
                label=self._labels.get(dataset_id, dataset_id),
                extra_groups=self._extra_groups,
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
        counter = Counter(scopes, repo.carrier_bits, repo.uncalled_at)
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
    ) -> list[DatasetAnswer] | None:
        """Answers with the alleles counted by the database (stored carrier counts) and only
        the shown page's rows read; None when the count was made at another generation than
        ``scopes``', or the generation moved before the page was read."""
        query, located, assemblies = where
        opted_out = {
            d: (scopes.opted_out_samples[d], scopes.datasets[d])
            for d in contexts
            if d not in scopes.complete
        }
        counted = repo.count_alleles(query, located, list(contexts), assemblies, opted_out)
        if counted.generation != scopes.generation:
            return None
        totals = counted.totals
        counter = Counter(scopes, repo.carrier_bits, repo.uncalled_at)
        answers = []
        paged = False
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
                paged = True
            answers.append(answer_from_totals(context, total, page, scopes, counter))
        return _if_current(repo, scopes, answers) if paged else answers


def restriction(
    reading: Reading,
    decided: Decided,
    within: Within | None,
    labels: Mapping[str, str],
) -> dict[str, tuple[BitMap | None, BitMap]] | None:
    """Per dataset, when filters or a path narrow the answer: what the filters and path
    keep of its consenting samples (None: they keep all of it) and the samples counted
    (those, of the population the population filters select, ``labels`` naming each
    dataset's population); None: whole datasets."""
    if not decided.request.filters and within is None:
        return None
    session, scopes, ids = reading.session, reading.scopes, decided.dataset_ids
    matched, population = reading.matched, reading.population
    narrowed = within(session, scopes, ids) if within is not None else None
    repo = EntryRepository(session)
    out = {}
    for dataset_id in ids:
        scope = scopes.datasets.get(dataset_id, BitMap())
        if narrowed is not None:
            scope = scope & narrowed.get(dataset_id, BitMap())
        if matched:
            passing = individuals_passing(repo, scopes, matched, dataset_id)
            scope = scope & scopes.samples_of_individuals(dataset_id, passing)
        narrowing = scope if narrowed is not None or matched else None
        if population is not None:
            scope = population.narrow(scopes, scope, labels.get(dataset_id, dataset_id))
        out[dataset_id] = (narrowing, scope)
    return out


def _if_current(
    repo: VariantRepository, scopes: Scopes, answers: list[DatasetAnswer]
) -> list[DatasetAnswer] | None:
    """``answers`` if the generation still is that of ``scopes`` after its rows were read, else
    None (redo): rows read after a load created a callset the scopes do not know of might be
    rows of that half-written callset."""
    return answers if repo.generation() == scopes.generation else None


def _counted_in_database(
    query: VariantQuery,
    restricted: dict[str, BitMap] | None,
    contexts: dict[str, AnswerContext],
    scopes: Scopes,
) -> bool:
    """Whether the database counts the answer from stored carrier counts: the whole of each
    dataset in scope (no filter or path narrowing it), no file of it being loaded or removed
    (its stored counts include their bits) and, in a dataset where someone opted out, no
    records to show (their frequencies need the bitmaps)."""
    if restricted is not None or not _countable_in_database(query):
        return False
    return all(
        d in scopes.complete
        or (
            d in scopes.datasets
            and d not in scopes.unsettled
            and context.level is not Granularity.RECORD
        )
        for d, context in contexts.items()
    )


def _countable_in_database(query: VariantQuery) -> bool:
    """Whether the database can count the matches (lengths are computed in Python)."""
    return not _allele_specific(query) and query.min_length is None and query.max_length is None


def _allele_specific(query: VariantQuery) -> bool:
    """A query naming one allele (its HGVS, its dbSNP id, its position and bases): its answer
    tells whether that allele is present."""
    named = query.genomic_allele_short_form is not None or query.alternative_id is not None
    return named or (len(query.start) == 1 and not query.end and query.alternate_bases is not None)
