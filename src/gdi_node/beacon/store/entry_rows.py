"""Reads of the Beacon metadata records (individuals, biosamples, runs, analyses, cohorts,
datasets) and of their filter index (gdi_node.beacon.framework.entry_index)."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Select, Table, func, or_, select
from sqlalchemy.orm import Session

from gdi_node.db.models import (
    BeaconEntry,
    BeaconEntryTerm,
    BeaconEntryValue,
    BeaconSample,
    BeaconSampleGroup,
    ConsentOptOut,
)

E = cast(Table, BeaconEntry.__table__)
ET = cast(Table, BeaconEntryTerm.__table__)
EV = cast(Table, BeaconEntryValue.__table__)
S = cast(Table, BeaconSample.__table__)
G = cast(Table, BeaconSampleGroup.__table__)
_REF_COLUMNS = (
    E.c.entry_type,
    E.c.dataset_id,
    E.c.entry_id,
    E.c.individual_id,
    E.c.biosample_id,
    E.c.run_id,
)
_CHUNK = 500


@dataclass(frozen=True)
class EntryRef:
    """One record's identity and links (not its document)."""

    entry_type: str
    dataset_id: str
    entry_id: str
    individual_id: str | None
    biosample_id: str | None
    run_id: str | None


@dataclass(frozen=True)
class IndexSummary:
    """What the filter index holds: terms and alphanumeric fields, each with the entry types
    of the records that carry it; fields are ``numeric`` or ``text``."""

    terms: dict[str, frozenset[str]]
    fields: dict[str, str]
    field_scopes: dict[str, frozenset[str]]


@dataclass(frozen=True)
class ValueTest:
    """What an alphanumeric filter asks of a record's values of one field: its ``number`` or
    its ``text`` compared to ``value`` by ``operator``: ``=``, ``<``, ``<=``, ``>``, ``>=``,
    or ``like`` (SQL LIKE: ``%`` stands for any text)."""

    column: Literal["number", "text"]
    operator: str
    value: float | str


_COMPARISONS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _condition(test: ValueTest) -> ColumnElement[bool]:
    column = EV.c[test.column]
    if test.operator == "like":
        return column.like(test.value)
    return _COMPARISONS[test.operator](column, test.value)


def _refs(rows: Any) -> list[EntryRef]:
    return [EntryRef(*row) for row in rows]


class EntryRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _select(self, dataset_ids: Collection[str], entry_type: str | None) -> Select[Any]:
        query = select(*_REF_COLUMNS).where(E.c.dataset_id.in_(list(dataset_ids)))
        return query.where(E.c.entry_type == entry_type) if entry_type else query

    def entries(
        self,
        entry_type: str,
        dataset_ids: Collection[str],
        *,
        linked: tuple[str, str] | None = None,
    ) -> list[EntryRef]:
        """Records of ``entry_type`` in the datasets, in id order; ``linked`` = (column,
        value) keeps those linked to one individual, biosample or run."""
        query = self._select(dataset_ids, entry_type)
        if linked is not None:
            column, value = linked
            query = query.where(E.c[column] == value)
        return _refs(self._session.execute(query.order_by(E.c.dataset_id, E.c.entry_id)))

    def by_id(self, entry_type: str, entry_id: str, dataset_ids: Collection[str]) -> list[EntryRef]:
        query = self._select(dataset_ids, entry_type).where(E.c.entry_id == entry_id)
        return _refs(self._session.execute(query))

    def with_terms(
        self, terms: Collection[str], dataset_ids: Collection[str], scope: str | None
    ) -> list[EntryRef]:
        out: list[EntryRef] = []
        listed = sorted(terms)
        for start in range(0, len(listed), _CHUNK):
            chunk = listed[start : start + _CHUNK]
            matched = select(ET.c.entry_no).where(ET.c.term.in_(chunk))
            query = self._select(dataset_ids, scope).where(E.c.entry_no.in_(matched))
            out += _refs(self._session.execute(query))
        return list(dict.fromkeys(out))

    def with_value(
        self,
        field: str,
        test: ValueTest | None,
        dataset_ids: Collection[str],
        scope: str | None,
    ) -> list[EntryRef]:
        """Records with a value of ``field`` that passes ``test`` (None: any value)."""
        matched = select(EV.c.entry_no).where(EV.c.field == field)
        if test is not None:
            matched = matched.where(_condition(test))
        query = self._select(dataset_ids, scope).where(E.c.entry_no.in_(matched))
        return _refs(self._session.execute(query))

    def documents(self, refs: Sequence[EntryRef]) -> list[dict[str, Any]]:
        """The records' documents, in the order of ``refs``."""
        found: dict[tuple[str, str, str], dict[str, Any]] = {}
        by_type: dict[tuple[str, str], list[str]] = {}
        for ref in refs:
            by_type.setdefault((ref.entry_type, ref.dataset_id), []).append(ref.entry_id)
        for (entry_type, dataset_id), ids in by_type.items():
            for start in range(0, len(ids), _CHUNK):
                rows = self._session.execute(
                    select(E.c.entry_id, E.c.document).where(
                        E.c.entry_type == entry_type,
                        E.c.dataset_id == dataset_id,
                        E.c.entry_id.in_(ids[start : start + _CHUNK]),
                    )
                )
                for entry_id, document in rows:
                    found[(entry_type, dataset_id, entry_id)] = json.loads(document)
        return [found[(r.entry_type, r.dataset_id, r.entry_id)] for r in refs]

    def summary(
        self, dataset_ids: Collection[str] | None = None, *, cohort: str | None = None
    ) -> IndexSummary:
        """What the records of people who did not opt out hold (records linked to nobody,
        such as dataset records, count too); ``cohort``: only the records of that cohort's
        members (the sample sheet's ``cohorts``), read through a subquery, never an id list."""
        people = E.c.individual_id
        conditions: list[ColumnElement[bool]] = [
            or_(people.is_(None), people.not_in(select(ConsentOptOut.individual_id)))
        ]
        if dataset_ids is not None:
            conditions.append(E.c.dataset_id.in_(list(dataset_ids)))
        if cohort is not None:
            members = (
                select(S.c.individual_id)
                .join(G, G.c.sample_no == S.c.sample_no)
                .where(G.c.kind == "cohort", G.c.name == cohort, S.c.dataset_id == E.c.dataset_id)
            )
            conditions.append(people.in_(members))
        term_query = (
            select(ET.c.term, E.c.entry_type)
            .join(E, E.c.entry_no == ET.c.entry_no)
            .where(*conditions)
            .group_by(ET.c.term, E.c.entry_type)
        )
        field_query = (
            select(EV.c.field, E.c.entry_type, func.count(EV.c.number))
            .join(E, E.c.entry_no == EV.c.entry_no)
            .where(*conditions)
            .group_by(EV.c.field, E.c.entry_type)
        )
        terms: dict[str, set[str]] = {}
        for term, entry_type in self._session.execute(term_query):
            terms.setdefault(term, set()).add(entry_type)
        fields: dict[str, str] = {}
        scopes: dict[str, set[str]] = {}
        for name, entry_type, numbers in self._session.execute(field_query):
            scopes.setdefault(name, set()).add(entry_type)
            if numbers or name not in fields:
                fields[name] = "numeric" if numbers else "text"
        return IndexSummary(
            {t: frozenset(v) for t, v in terms.items()},
            fields,
            {f: frozenset(v) for f, v in scopes.items()},
        )
