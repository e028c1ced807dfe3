"""Reads of one dataset's variant rows in sequence and position order, a chunk at a time, for
releases of the whole dataset (gdi_node.beacon.queries.frequency_export).

A chunk is at most ``limit`` rows (one per allele) from a start position on, ordered by start,
ref and alt. The caller continues from the start of the last row it did not use: keyset paging
on the position index, never an ``OFFSET`` that rereads what came before. What a file being
loaded brought counts only once it is shown (its bits are in no scope before: decision record
0020).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from gdi_node.beacon.store.variant_bins import B
from gdi_node.beacon.store.variant_where import FULL_COLUMNS, V, Where, apply, run

__all__ = ["rows_from", "sequences_of"]


def sequences_of(session: Session, dataset_id: str, assembly: str) -> list[str]:
    """The sequences (canonical names) holding an allele with a carrier in ``dataset_id``, from
    the range-count bins (a few hundred rows per sequence, not the variants)."""
    where = _scope(dataset_id, assembly)
    return sorted(str(row[0]) for row in run(session, _sequences(tuple(where.shape)), where.values))


def rows_from(
    session: Session,
    dataset_id: str,
    assembly: str,
    chrom: str,
    *,
    first: int,
    before: int,
    limit: int,
) -> list[Any]:
    """Full rows (with the annotation) starting in ``[first, before)`` (0-based) on
    ``chrom``, at most ``limit`` of them, in start, ref, alt, id order."""
    where = _scope(dataset_id, assembly)
    where.add("chrom", chrom)
    where.add("start>=", first)
    where.add("start<", before)
    return run(session, _chunk(tuple(where.shape)), where.values | {"limit": limit})


def _scope(dataset_id: str, assembly: str) -> Where:
    where = Where()
    where.add_list("datasets", [dataset_id])
    where.add_list("assemblies", [assembly])
    return where


@lru_cache(maxsize=64)
def _sequences(shape: tuple[str, ...]) -> Select[Any]:
    return apply(select(B.c.chrom).distinct(), shape, table=B).where(B.c.alleles > 0)


@lru_cache(maxsize=64)
def _chunk(shape: tuple[str, ...]) -> Select[Any]:
    statement = apply(select(*FULL_COLUMNS), shape)
    ordered = statement.order_by(V.c.start, V.c.ref, V.c.alt, V.c.id)
    return ordered.limit(bindparam("limit"))
