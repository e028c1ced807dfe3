"""Which records Beacon v2 filters select (framework filters: ontology terms with
``includeDescendantTerms``, alphanumeric ``id operator value``, custom terms; AND-combined).

A filter matches records through the filter index; a record of the entry type asked for passes
when it was matched itself or through what it belongs to or holds:

- an individual passes when it, or one of its biosamples, runs or analyses, matched;
- a biosample, run or analysis passes when it matched, when its individual matched as an
  individual, or (runs, analyses) when its biosample matched;
- every record of a dataset passes when the dataset record matched (e.g. a DUO term);
- a filter with ``scope`` only matches records of that entry type; scoped to
  ``genomicVariant`` (g_variants only: the privacy gate refuses it elsewhere), records of any.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gdi_node.beacon.framework.entry_index import FIELD_ALIASES, duration_days
from gdi_node.beacon.framework.filters import VARIANT_SCOPE, Filter
from gdi_node.beacon.model.ontology import Ontologies
from gdi_node.beacon.store.entry_rows import EntryRef, EntryRepository, IndexSummary, ValueTest
from gdi_node.errors import InvalidInputError

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class Matched:
    """The records one filter matched, with the links :meth:`passes` follows."""

    direct: set[tuple[str, str, str]] = field(default_factory=set)
    individuals: set[tuple[str, str]] = field(default_factory=set)  # through any record
    individuals_own: set[tuple[str, str]] = field(default_factory=set)  # as an individual
    biosamples_own: set[tuple[str, str]] = field(default_factory=set)
    runs_own: set[tuple[str, str]] = field(default_factory=set)
    held_biosamples: set[tuple[str, str]] = field(default_factory=set)  # via runs/analyses
    datasets: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, refs: Sequence[EntryRef]) -> Matched:
        out = cls()
        for ref in refs:
            ds = ref.dataset_id
            out.direct.add((ref.entry_type, ds, ref.entry_id))
            if ref.entry_type == "dataset":
                out.datasets.add(ds)
            if ref.individual_id:
                out.individuals.add((ds, ref.individual_id))
            if ref.entry_type == "individual":
                out.individuals_own.add((ds, ref.entry_id))
            elif ref.entry_type == "biosample":
                out.biosamples_own.add((ds, ref.entry_id))
            elif ref.entry_type == "run":
                out.runs_own.add((ds, ref.entry_id))
            if ref.entry_type in ("run", "analysis") and ref.biosample_id:
                out.held_biosamples.add((ds, ref.biosample_id))
        return out

    def passes(self, ref: EntryRef) -> bool:
        ds = ref.dataset_id
        if ds in self.datasets or (ref.entry_type, ds, ref.entry_id) in self.direct:
            return True
        if ref.entry_type == "individual":
            return (ds, ref.entry_id) in self.individuals
        if ref.entry_type == "biosample":
            return (ds, ref.individual_id) in self.individuals_own or (
                ds,
                ref.entry_id,
            ) in self.held_biosamples
        if ref.entry_type in ("run", "analysis"):
            return (
                (ds, ref.individual_id) in self.individuals_own
                or (ds, ref.biosample_id) in self.biosamples_own
                or (ds, ref.run_id) in self.runs_own
            )
        return False


class FilterMatcher:
    def __init__(
        self,
        repo: EntryRepository,
        ontologies: Ontologies,
        index: IndexSummary,
        stored_by_canonical: dict[str, frozenset[str]],
    ) -> None:
        self._repo = repo
        self._ontologies = ontologies
        self._index = index
        self._stored = stored_by_canonical

    def resolve(self, filters: Sequence[Filter], dataset_ids: Collection[str]) -> list[Matched]:
        """One Matched per filter; an unknown term or field is a 400, never ignored."""
        return [Matched.of(self._refs(f, dataset_ids)) for f in filters]

    def _refs(self, item: Filter, dataset_ids: Collection[str]) -> list[EntryRef]:
        if item.alphanumeric:
            return self._alphanumeric(item, dataset_ids)
        term = self._ontologies.canonical(item.id)
        if term not in self._stored and not self._ontologies.knows(term):
            raise InvalidInputError(
                f"filter {item.id!r} is not a filtering term of this Beacon (see /filtering_terms)"
            )
        wanted = self._ontologies.descendants(term) if item.include_descendants else {term}
        stored = {raw for t in wanted for raw in self._stored.get(t, ())}
        if not stored:
            return []
        return self._repo.with_terms(stored, dataset_ids, _record_scope(item))

    def _alphanumeric(self, item: Filter, dataset_ids: Collection[str]) -> list[EntryRef]:
        field_id = FIELD_ALIASES.get(item.id.lower(), item.id)
        kind = self._index.fields.get(field_id)
        if kind is None:
            raise InvalidInputError(
                f"filter {item.id!r} is not a field of this Beacon's records (see /filtering_terms)"
            )
        value = item.value or ""
        operator = item.operator or "="
        number = _number(value)
        test: ValueTest
        if number is not None and kind == "numeric":
            test = ValueTest("number", "=" if operator == "!" else operator, number)
        elif operator in ("=", "!"):
            test = ValueTest("text", "like" if "%" in value else "=", value)
        else:
            test = ValueTest("text", operator, value)
        matched = self._repo.with_value(field_id, test, dataset_ids, _record_scope(item))
        if operator != "!":
            return matched
        having = self._repo.with_value(field_id, None, dataset_ids, _record_scope(item))
        excluded = set(matched)
        return [ref for ref in having if ref not in excluded]


def _record_scope(item: Filter) -> str | None:
    """The entry type whose records a filter matches: a filter scoped to genomic variants
    matches the records of any type (g_variants is narrowed to the people they belong to)."""
    return None if item.scope == VARIANT_SCOPE else item.scope


def _number(value: str) -> float | None:
    text = value.strip()
    if _NUMBER.match(text):
        return float(text)
    return duration_days(text) if text[:1] in "Pp" else None


class FilterIndexCache:
    """This worker's view of the filter index (terms and fields present, stored terms by
    canonical id), rebuilt when the Beacon data generation moves; the ontologies are loaded
    on first use."""

    def __init__(self, load_ontologies: Callable[[], Ontologies]) -> None:
        self._load = load_ontologies
        self._ontologies: Ontologies | None = None
        self._current: tuple[int, IndexSummary, dict[str, frozenset[str]]] | None = None
        self._lock = threading.Lock()

    @property
    def ontologies(self) -> Ontologies:
        with self._lock:
            if self._ontologies is None:
                self._ontologies = self._load()
            return self._ontologies

    def index(
        self, session: Session, generation: int
    ) -> tuple[IndexSummary, dict[str, frozenset[str]]]:
        current = self._current
        if current is not None and current[0] == generation:
            return current[1], current[2]
        ontologies = self.ontologies
        summary = EntryRepository(session).summary()
        stored: dict[str, set[str]] = {}
        for term in summary.terms:
            stored.setdefault(ontologies.canonical(term), set()).add(term)
        frozen = {k: frozenset(v) for k, v in stored.items()}
        self._current = (generation, summary, frozen)
        return summary, frozen

    def matcher(self, session: Session, generation: int) -> FilterMatcher:
        summary, stored = self.index(session, generation)
        return FilterMatcher(EntryRepository(session), self.ontologies, summary, stored)
