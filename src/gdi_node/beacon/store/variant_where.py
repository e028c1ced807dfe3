"""The conditions of a ``g_variant`` query as a statement shape plus parameter values.

The SQL of a variant query depends only on which conditions it has (its *shape*: a range on
one sequence in one dataset, a sequence query with a wildcard base, a gene, ...), never on
their values. Statements are therefore built once per shape and purpose, kept, and executed
with the query's values as bound parameters. Building a fresh SQLAlchemy statement per
request, and deriving its cache key, cost more Python time than SQLite took to count a 1 Mb
range (``scripts/bench beacon``).

Semantics (Beacon v2 ``g_variant`` request parameters, 0-based half-open coordinates):
sequence query = variants starting at ``start``; range = variants overlapping
``[start, end)``; bracket = start in ``[start0, start1)`` and end in ``[end0, end1)``;
``N`` in ``alternateBases``/``referenceBases`` matches any one base.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import BindParameter, ColumnElement, Select, Table, bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators

from gdi_node.beacon.framework.requests import VariantQuery
from gdi_node.beacon.model.variants import stored_types
from gdi_node.db.models import BeaconCarrierSlice, BeaconVariant, BeaconVariantTerm
from gdi_node.errors import InvalidInputError

V = cast(Table, BeaconVariant.__table__)
T = cast(Table, BeaconVariantTerm.__table__)
C = cast(Table, BeaconCarrierSlice.__table__)
ALLELE = (V.c.assembly, V.c.chrom, V.c.start, V.c.ref, V.c.alt)
KEY_COLUMNS = (
    V.c.id,
    V.c.dataset_id,
    V.c.assembly,
    V.c.chrom,
    V.c.start,
    V.c.end,
    V.c.ref,
    V.c.alt,
    V.c.variant_type,
    V.c.carriers,
)
# with the annotation: records (carrier bits are read by id: variant_rows.carrier_bits)
FULL_COLUMNS = (*KEY_COLUMNS, V.c.annotation)


@dataclass(frozen=True)
class Located:
    """A resolved position query: assembly, canonical sequence name and coordinates."""

    assembly: str
    chrom: str


@dataclass
class Where:
    """A query's conditions: ``shape`` names them (it alone decides the SQL), ``values`` binds
    them. Conditions: ``datasets:N``/``assemblies:N`` (IN lists of N), ``chrom``, ``start=``,
    ``start>=``, ``start<``, ``end>=``, ``end<``, ``end>``, ``alt=``/``alt~`` and
    ``ref=``/``ref~`` (``~``: with wildcards), ``types:N``, ``term:KIND`` (a join per term)."""

    shape: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    # a range query's own ``[start, end)`` (its ``start>=`` reaches further back)
    range: tuple[int, int] | None = None

    def add(self, condition: str, value: Any) -> None:
        self.values[f"p{len(self.shape)}"] = value
        self.shape.append(condition)

    def add_list(self, condition: str, values: Sequence[Any]) -> None:
        n = len(self.shape)
        self.shape.append(f"{condition}:{len(values)}")
        self.values |= {f"p{n}_{i}": v for i, v in enumerate(values)}


def where_of(
    query: VariantQuery,
    located: Located | None,
    dataset_ids: Sequence[str],
    assemblies: Sequence[str],
    spans: Mapping[str, int],
) -> Where:
    """The conditions of ``query`` in ``dataset_ids`` on ``assemblies``; ``spans`` (per
    dataset, its longest variant) bound how far before a range an overlapping variant starts."""
    where = Where()
    where.add_list("datasets", list(dataset_ids))
    where.add_list("assemblies", list(assemblies))
    _position(where, query, located, dataset_ids, spans)
    for column, pattern in (("alt", query.alternate_bases), ("ref", query.reference_bases)):
        if pattern and "N" in pattern:
            where.add(f"{column}~", pattern.replace("N", "_"))
        elif pattern:
            where.add(f"{column}=", pattern)
    if query.variant_type:
        types = stored_types(query.variant_type)
        if types is None:
            raise InvalidInputError(
                f"unknown variantType {query.variant_type!r}; use SNP, MNP, DEL, INS, INDEL,"
                " DUP, CNV, INV, BND or an SO/EFO id of one"
            )
        where.add_list("types", sorted(types))
    if query.gene_id:
        where.add("term:gene", query.gene_id)
    if query.aminoacid_change:
        where.add("term:aachange", query.aminoacid_change.removeprefix("p."))
    if query.genomic_allele_short_form:
        where.add("term:hgvs", query.genomic_allele_short_form)
    if query.alternative_id:
        where.add("term:xref", query.alternative_id)
    return where


def _position(
    where: Where,
    query: VariantQuery,
    located: Located | None,
    dataset_ids: Sequence[str],
    spans: Mapping[str, int],
) -> None:
    if located is None:
        return
    where.add("chrom", located.chrom)
    kind = query.kind()
    if kind == "sequence":
        where.add("start=", query.start[0])
    elif kind == "bracket":
        (s0, s1), (e0, e1) = query.start, query.end
        where.add("start>=", s0)
        where.add("start<", max(s1, s0 + 1))
        where.add("end>=", e0)
        where.add("end<", max(e1, e0 + 1))
    elif kind == "range":  # any overlap; the longest stored variant bounds how far back
        first, last = query.start[0], query.end[0]
        reach = max((spans.get(d, 0) for d in dataset_ids), default=0)
        where.add("start>=", max(0, first - reach))
        where.add("start<", last)
        where.add("end>", first)
        where.range = (first, last)
    # other kinds (e.g. HGVS with a referenceName) are narrowed to the sequence only


_COMPARISONS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "chrom": ("chrom", operator.eq),
    "start=": ("start", operator.eq),
    "start>=": ("start", operator.ge),
    "start<": ("start", operator.lt),
    "end>=": ("end", operator.ge),
    "end<": ("end", operator.lt),
    "end>": ("end", operator.gt),
    "alt=": ("alt", operator.eq),
    "alt~": ("alt", operators.like_op),
    "ref=": ("ref", operator.eq),
    "ref~": ("ref", operators.like_op),
}
POSITIONS = frozenset(c for c in _COMPARISONS if c.startswith(("start", "end")))
_LISTS = {"datasets": "dataset_id", "assemblies": "assembly", "types": "variant_type"}


def apply(
    statement: Select[Any], shape: Sequence[str], *, table: Table = V, positions: str | None = ""
) -> Select[Any]:
    """``statement`` restricted by the conditions of ``shape`` on the columns of ``table``,
    every value a bound parameter named as in :class:`Where`. The parameters of the position
    conditions (``start``/``end``) get the suffix ``positions``; None leaves those conditions
    out (the caller bounds the positions itself)."""
    for n, condition in enumerate(shape):
        name, _, arity = condition.partition(":")
        if name in _LISTS:
            params: list[Any] = [bindparam(f"p{n}_{i}") for i in range(int(arity))]
            column = table.c[_LISTS[name]]
            clause: ColumnElement[bool] = (
                column == params[0] if len(params) == 1 else column.in_(params)
            )
            statement = statement.where(clause)
        elif name == "term":  # joins: the planner starts from the term index
            terms = T.alias(f"t{n}")
            statement = statement.join(terms, terms.c.variant_id == table.c.id).where(
                terms.c.kind == arity, terms.c.term == bindparam(f"p{n}")
            )
        elif condition in POSITIONS:
            if positions is not None:
                column_name, compare = _COMPARISONS[condition]
                bound: BindParameter[Any] = bindparam(f"p{n}{positions}")
                statement = statement.where(compare(table.c[column_name], bound))
        else:
            column_name, compare = _COMPARISONS[condition]
            statement = statement.where(compare(table.c[column_name], bindparam(f"p{n}")))
    return statement


# --- the statements, one per purpose and shape -------------------------------------------------


@lru_cache(maxsize=512)
def counted_rows(shape: tuple[str, ...]) -> Select[Any]:
    """Per dataset, the matching alleles (one row each) with a carrier."""
    statement = apply(select(V.c.dataset_id, func.count()), shape)
    return statement.where(V.c.carriers > 0).group_by(V.c.dataset_id)


@lru_cache(maxsize=512)
def few_carrier_slices(shape: tuple[str, ...]) -> Select[Any]:
    """The carrier slices (variant id, one copy, two copies) of the matching alleles with one
    to ``most`` carriers."""
    joined = V.join(C, C.c.variant_id == V.c.id)
    columns = (C.c.variant_id, C.c.slice, C.c.one_copy, C.c.two_copies)
    statement: Select[Any] = apply(select(*columns).select_from(joined), shape)
    return statement.where(V.c.carriers > 0, V.c.carriers <= bindparam("most"))


@lru_cache(maxsize=512)
def page_of_rows(shape: tuple[str, ...]) -> Select[Any]:
    """A page (``offset``, ``limit``) of matching alleles with their carriers."""
    statement = apply(select(*ALLELE, V.c.carriers), shape).where(V.c.carriers > 0)
    return _paged(statement)


def _paged(statement: Select[Any]) -> Select[Any]:
    ordered = statement.order_by(V.c.chrom, V.c.start, V.c.ref, V.c.alt)
    return ordered.offset(bindparam("offset")).limit(bindparam("limit"))


@lru_cache(maxsize=512)
def matching_rows(shape: tuple[str, ...], full: bool) -> Select[Any]:
    """Every matching row in position order; ``full``: with the annotation."""
    statement = apply(select(*(FULL_COLUMNS if full else KEY_COLUMNS)), shape)
    return statement.order_by(V.c.chrom, V.c.start, V.c.ref, V.c.alt, V.c.id)


def run(session: Session, statement: Select[Any], values: Mapping[str, Any]) -> list[Any]:
    """The rows of a kept statement with ``values`` bound."""
    return list(session.execute(statement, dict(values)))
