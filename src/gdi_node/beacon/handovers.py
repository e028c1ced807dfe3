"""Beacon v2 handovers (framework ``beaconCommonComponents`` ``Handover``): links from datasets,
runs and analyses to the htsget tickets and DRS objects of their files.

A dataset hands over every file registered in it; a run or analysis the files that carry its
id as an alias (``gdi-node ingest files --alias``). Files aliased to anyone who opted out of
research use (their individual, biosample, run or analysis ids) are never handed over.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gdi_node.beacon.entries import E
from gdi_node.db.models import DataObject, ObjectAlias

_FORMAT_TERMS = {
    "BAM": ("EDAM:format_2572", "BAM"),
    "CRAM": ("EDAM:format_3462", "CRAM"),
    "VCF": ("EDAM:format_3016", "VCF"),
    "BCF": ("EDAM:format_3020", "BCF"),
}
_HTSGET_ENDPOINT = {"BAM": "reads", "CRAM": "reads", "VCF": "variants", "BCF": "variants"}


def opted_out_aliases(session: Session, opted_out: Collection[str]) -> set[str]:
    """Ids that name opted-out people or their records: their individual ids and the ids of
    their biosamples, runs and analyses."""
    if not opted_out:
        return set()
    ids = set(opted_out)
    rows = session.execute(select(E.c.entry_id).where(E.c.individual_id.in_(list(opted_out))))
    ids.update(entry_id for (entry_id,) in rows)
    return ids


def _withheld(session: Session, object_ids: list[str], excluded: set[str]) -> set[str]:
    if not excluded or not object_ids:
        return set()
    rows = session.execute(
        select(ObjectAlias.object_id).where(
            ObjectAlias.object_id.in_(object_ids), ObjectAlias.alias.in_(sorted(excluded))
        )
    )
    return {object_id for (object_id,) in rows}


def _links(public_url: str, object_id: str, name: str, file_format: str) -> list[dict[str, Any]]:
    term, label = _FORMAT_TERMS.get(file_format, ("CUSTOM:file", file_format))
    links = [
        {
            "handoverType": {"id": term, "label": label},
            "note": f"DRS object of {name}",
            "url": f"{public_url}/ga4gh/drs/v1/objects/{object_id}",
        }
    ]
    endpoint = _HTSGET_ENDPOINT.get(file_format)
    if endpoint is not None:
        links.append(
            {
                "handoverType": {"id": term, "label": label},
                "note": f"htsget ticket for {name} ({endpoint})",
                "url": f"{public_url}/htsget/{endpoint}/{object_id}",
            }
        )
    return links


def _handed_over(
    session: Session, public_url: str, rows: Sequence[Any], excluded: set[str]
) -> list[dict[str, Any]]:
    """The links of the files in ``rows`` (id, name, format) not aliased to ``excluded``."""
    withheld = _withheld(session, [r.id for r in rows], excluded)
    return [
        link
        for r in rows
        if r.id not in withheld
        for link in _links(public_url, r.id, r.name, r.format)
    ]


def dataset_handovers(
    session: Session, public_url: str, dataset_id: str, excluded: set[str]
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DataObject.id, DataObject.name, DataObject.format)
        .where(DataObject.dataset_id == dataset_id)
        .order_by(DataObject.name)
    ).all()
    return _handed_over(session, public_url, rows, excluded)


def entry_handovers(
    session: Session, public_url: str, dataset_id: str, entry_ids: list[str], excluded: set[str]
) -> list[dict[str, Any]]:
    """Handovers of the files aliased to any of ``entry_ids`` (runs, analyses) in a dataset."""
    if not entry_ids:
        return []
    rows = session.execute(
        select(DataObject.id, DataObject.name, DataObject.format)
        .join(ObjectAlias, ObjectAlias.object_id == DataObject.id)
        .where(DataObject.dataset_id == dataset_id, ObjectAlias.alias.in_(entry_ids))
        .order_by(DataObject.name)
        .distinct()
    ).all()
    return _handed_over(session, public_url, rows, excluded)
