"""Callsets of a dataset: finding one by file name, deleting one with its variants, and
knowing whether a dataset stores an allele twice.

A dataset whose callsets never share an allele has one variant row per allele, so a range
count can count rows from the covering position index instead of grouping copies
(gdi_node.beacon.repository). Each load records whether its alleles meet another copy in the
dataset, either from a callset loaded before it or within itself; a later load that meets an
earlier one marks itself, so every pair of copies is marked on one side. A flag left set after
the other side is deleted only costs speed, never a wrong count.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from gdi_node.beacon.variant_bins import delete_bins
from gdi_node.db.models import BeaconCallset, BeaconVariant, BeaconVariantTerm

_VARIANTS = cast(Table, BeaconVariant.__table__)
_TERMS = cast(Table, BeaconVariantTerm.__table__)


def find_callset(session: Session, dataset_id: str, name: str) -> BeaconCallset | None:
    """The dataset's callset loaded from a file of this name, if any."""
    return session.scalars(
        select(BeaconCallset).where(
            BeaconCallset.dataset_id == dataset_id, BeaconCallset.name == name
        )
    ).first()


def delete_callset(session: Session, callset_id: int) -> None:
    variant_ids = select(_VARIANTS.c.id).where(_VARIANTS.c.callset_id == callset_id)
    session.execute(delete(_TERMS).where(_TERMS.c.variant_id.in_(variant_ids)))
    delete_bins(session, callset_id)
    session.execute(delete(_VARIANTS).where(_VARIANTS.c.callset_id == callset_id))
    session.execute(delete(BeaconCallset).where(BeaconCallset.id == callset_id))
    session.flush()


def alleles_stored_twice(
    session: Session, dataset_id: str, assembly: str, chroms: Collection[str]
) -> bool:
    """Whether an allele of ``dataset_id`` on one of ``chroms`` has more than one variant row
    (call after writing a callset's rows; only the covering position index is read)."""
    if not chroms:
        return False
    here, other = _VARIANTS.alias("here"), _VARIANTS.alias("other")
    copies = (
        select(func.count())
        .where(
            other.c.assembly == here.c.assembly,
            other.c.chrom == here.c.chrom,
            other.c.start == here.c.start,
            other.c.dataset_id == here.c.dataset_id,
            other.c.ref == here.c.ref,
            other.c.alt == here.c.alt,
        )
        .scalar_subquery()
    )
    found = select(here.c.start).where(
        here.c.dataset_id == dataset_id,
        here.c.assembly == assembly,
        here.c.chrom.in_(sorted(chroms)),
        copies > 1,
    )
    return session.execute(found.limit(1)).first() is not None
