"""Range counts from bins: per dataset, how many alleles with a carrier start in each
``BIN_SIZE`` window of a sequence, per variant type (table ``beacon_variant_bins``, decision
record 0008).

Counting a 1 Mb range row by row reads every allele in it from the position index: 1,700 on
the synthetic bench set, about 30,000 on a national set of 60,000 genomes. With one row per
allele (decision record 0020), the count of alleles overlapping ``[first, last)`` (Beacon v2
range query, 0-based half-open) is instead, exactly:

- rows starting in ``[first - reach, s)`` that end after ``first`` (the head), where ``s`` is
  the first bin start at or after ``first`` (``first`` itself when it is a bin edge);
- plus the bins from that one up to, not including, ``last``'s bin: every allele in them
  starts at or after ``first`` and ends after its start (every stored allele covers at least
  one base: gdi_node.beacon.ingest.allele_rows), so it overlaps the range;
- plus rows starting in ``[start of last's bin, last)`` (the tail).

So a count reads at most two bins' rows plus the reach, and about 100 bin rows per Mb and
type. A bin moves with the stored carrier counts: +1 when a load gives an allele its first
carrier (gdi_node.beacon.store.variant_writes), -1 when removing a file's bits leaves it
without one (gdi_node.beacon.store.callsets). Answers use bins only when no file of the
dataset is being loaded or removed (gdi_node.beacon.queries.scopes: ``complete``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, func, select, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gdi_node.beacon.store.variant_where import POSITIONS, V, Where, apply
from gdi_node.db.models import BeaconVariantBin

BIN_SIZE = 10_000  # bases; changing it needs a migration that rebuilds the table
B = cast(Table, BeaconVariantBin.__table__)
_BINNABLE = frozenset({"datasets", "assemblies", "chrom", "types"}) | POSITIONS
_KEYS = ("dataset_id", "assembly", "chrom", "bin", "variant_type")


def add_bins(session: Session, changes: Mapping[tuple[str, str, str, int, str], int]) -> None:
    """Add ``changes`` ((dataset, assembly, chrom, bin, variant type) -> alleles, positive or
    negative) to the bins, in the caller's transaction."""
    changed = {key: n for key, n in changes.items() if n}
    if not changed:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(B)
    statement = statement.on_conflict_do_update(
        index_elements=[B.c[k] for k in _KEYS],
        set_={"alleles": B.c.alleles + statement.excluded.alleles},
    )
    values = [dict(zip(_KEYS, key, strict=True)) | {"alleles": n} for key, n in changed.items()]
    session.execute(statement, values)
    emptied = [dict(zip(_KEYS, key, strict=True)) for key, n in changed.items() if n < 0]
    if emptied:  # a bin without alleles is no row
        at = [B.c[k] == bindparam(f"b_{k}") for k in _KEYS]
        session.execute(
            delete(B).where(*at, B.c.alleles <= 0),
            [{f"b_{k}": v for k, v in key.items()} for key in emptied],
        )


def binned_values(where: Where) -> dict[str, Any] | None:
    """The values of :func:`rows_with_a_carrier` for a range query's ``where``; None when the
    query is not a plain range (other conditions) or the range holds no whole bin."""
    if where.range is None or any(c.partition(":")[0] not in _BINNABLE for c in where.shape):
        return None
    first, last = where.range
    bin_from, bin_to = -(-first // BIN_SIZE), last // BIN_SIZE  # first whole bin at or after
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
