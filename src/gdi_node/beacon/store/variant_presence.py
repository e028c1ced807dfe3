"""Whether a dataset holds any allele with a carrier: the cheap fact a variant-less
``/g_variants`` answers from (decision record 0028 reasons; Beacon v2 framework
``beaconResultsetsResponse`` at boolean granularity).

Both reads stop at the first rows they find, through the allele key (``dataset_id`` leads
the unique index of ``beacon_variants``): nothing is counted and no dataset is scanned to
its end unless it holds no allele with a carrier at all.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gdi_node.beacon.store.variant_where import V

_ANY = select(V.c.id).where(V.c.dataset_id == bindparam("dataset_id"), V.c.carriers > 0)


def first_alleles_with_a_carrier(session: Session, dataset_id: str, most: int) -> list[int]:
    """Ids of at most ``most`` alleles of ``dataset_id`` whose stored carrier count is not
    zero (the stored count holds every bit written, opted-out and unshown ones included)."""
    statement = _ANY.limit(most)
    return [int(row[0]) for row in session.execute(statement, {"dataset_id": dataset_id})]
