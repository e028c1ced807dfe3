"""Range counts from bins: per callset, how many alleles with a carrier start in each
``BIN_SIZE`` window of a sequence, per variant type (table ``beacon_variant_bins``).

Counting a 1 Mb range row by row reads every allele in it from the position index: 1,700 on
the synthetic bench set, about 30,000 on a national set of 60,000 genomes. In a dataset that
stores one row per allele (gdi_node.beacon.store.callsets), the count of alleles overlapping
``[first, last)`` (Beacon v2 range query, 0-based half-open) is instead, exactly:

- rows starting in ``[first - reach, s)`` that end after ``first`` (the head), where ``s`` is
  the start of the bin after ``first``'s;
- plus the bins from that one up to, not including, ``last``'s bin: every allele in them
  starts after ``first``, so it overlaps the range;
- plus rows starting in ``[start of last's bin, last)`` (the tail).

So a count reads at most two bins' rows plus the reach, and about 100 bin rows per Mb and
type. Bins are written with the callset's rows, in the same transactions, and deleted with
them; carrier counts never change after a load (opt-outs are applied at query time). Like the
rows, the bins of a callset that is not ready are left out (``hidden``, decision record 0014).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, func, insert, select, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gdi_node.beacon.store.variant_where import POSITIONS, V, Where, apply
from gdi_node.db.models import BeaconVariantBin

BIN_SIZE = 10_000  # bases; changing it needs a migration that rebuilds the table
B = cast(Table, BeaconVariantBin.__table__)
_BINNABLE = frozenset({"datasets", "hidden", "assemblies", "chrom", "types"}) | POSITIONS
_KEYS = ("callset_id", "assembly", "chrom", "bin", "variant_type", "dataset_id")


def write_bins(session: Session, callset_id: int) -> None:
    """Bin the alleles of a callset (after its rows are written, in the same transaction)."""
    bin_of = (V.c.start // BIN_SIZE).label("bin")
    keys = (V.c.callset_id, V.c.assembly, V.c.chrom, bin_of, V.c.variant_type, V.c.dataset_id)
    counted = (
        select(*keys, func.count())
        .where(V.c.callset_id == callset_id, V.c.carriers > 0)
        .group_by(*keys)
    )
    columns = ["callset_id", "assembly", "chrom", "bin", "variant_type", "dataset_id", "alleles"]
    session.execute(insert(B).from_select(columns, counted))


def add_bins(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Add variant rows just written (column values, as inserted) to their bins: one step of
    a load, whose later steps may add to the same bins."""
    counted = Counter(
        (r["callset_id"], r["assembly"], r["chrom"], r["start"] // BIN_SIZE, r["variant_type"],
         r["dataset_id"])
        for r in rows
        if r["carriers"] > 0
    )  # fmt: skip
    if not counted:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(B)
    statement = statement.on_conflict_do_update(
        index_elements=[B.c[k] for k in _KEYS[:5]],
        set_={"alleles": B.c.alleles + statement.excluded.alleles},
    )
    values = [dict(zip(_KEYS, key, strict=True)) | {"alleles": n} for key, n in counted.items()]
    session.execute(statement, values)


def delete_bins(session: Session, callset_id: int) -> None:
    session.execute(delete(B).where(B.c.callset_id == callset_id))


def binned_values(where: Where) -> dict[str, Any] | None:
    """The values of :func:`rows_with_a_carrier` for a range query's ``where``; None when the
    query is not a plain range (other conditions) or the range holds no whole bin."""
    if where.range is None or any(c.partition(":")[0] not in _BINNABLE for c in where.shape):
        return None
    first, last = where.range
    bin_from, bin_to = first // BIN_SIZE + 1, last // BIN_SIZE
    if bin_from >= bin_to:
        return None
    parts = {
        "_head": {"start<": bin_from * BIN_SIZE, "end>": first},
        "_tail": {"start>=": bin_to * BIN_SIZE, "start<": last, "end>": first},
    }
    values = {"bin_from": bin_from, "bin_to": bin_to}
    for n, condition in enumerate(where.shape):
        name = f"p{n}"
        if condition not in POSITIONS:
            values |= {k: v for k, v in where.values.items() if k.partition("_")[0] == name}
            continue
        for suffix, bounds in parts.items():
            values[name + suffix] = bounds.get(condition, where.values[name])
    return values


@lru_cache(maxsize=512)
def rows_with_a_carrier(shape: tuple[str, ...]) -> Select[Any]:
    """Per dataset, the matching rows with a carrier of a range ``shape``: head and tail rows
    counted, the whole bins between them summed (values from :func:`binned_values`)."""

    def edge(suffix: str) -> Select[Any]:
        counted = apply(select(V.c.dataset_id, func.count().label("n")), shape, positions=suffix)
        return counted.where(V.c.carriers > 0).group_by(V.c.dataset_id)

    summed = select(B.c.dataset_id, func.sum(B.c.alleles).label("n"))
    middle = apply(summed, shape, table=B, positions=None).where(
        B.c.bin >= bindparam("bin_from"), B.c.bin < bindparam("bin_to")
    )
    parts = union_all(edge("_head"), middle.group_by(B.c.dataset_id), edge("_tail")).subquery()
    return select(parts.c.dataset_id, func.sum(parts.c.n)).group_by(parts.c.dataset_id)
