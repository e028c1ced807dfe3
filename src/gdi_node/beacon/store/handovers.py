"""Beacon v2 handovers (framework ``beaconCommonComponents`` ``Handover``): links from datasets,
runs and analyses to the htsget tickets and DRS objects of their files.

A dataset hands over every file registered in it; a run or analysis the files that carry its
id as an alias (``gdi-node ingest files --alias``). Files DRS and htsget withhold from research
use, those of anyone who opted out (gdi_node.db.consent, decision record 0012), are never
handed over.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gdi_node.db.consent import Withheld, withheld_for
from gdi_node.db.models import DataObject, ObjectAlias

_FORMAT_TERMS = {
    "BAM": ("EDAM:format_2572", "BAM"),
    "CRAM": ("EDAM:format_3462", "CRAM"),
    "VCF": ("EDAM:format_3016", "VCF"),
    "BCF": ("EDAM:format_3020", "BCF"),
}
_HTSGET_ENDPOINT = {"BAM": "reads", "CRAM": "reads", "VCF": "variants", "BCF": "variants"}


def withheld_files(session: Session, opted_out: Collection[str]) -> Withheld:
    """What marks the files of the opted-out people: aliases naming them or their records,
    checksums of genotype files holding their samples."""
    return withheld_for(session, opted_out)


def _withheld(session: Session, object_ids: list[str], excluded: Withheld) -> set[str]:
    if not (excluded.names or excluded.checksums) or not object_ids:
        return set()
    rows = session.execute(
        select(DataObject.id, DataObject.sha256, ObjectAlias.alias)
        .outerjoin(ObjectAlias, ObjectAlias.object_id == DataObject.id)
        .where(DataObject.id.in_(object_ids))
    )
    return {object_id for object_id, sha256, alias in rows if excluded.covers([alias], sha256)}


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
    session: Session, public_url: str, rows: Sequence[Any], excluded: Withheld
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
    session: Session, public_url: str, dataset_id: str, excluded: Withheld
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DataObject.id, DataObject.name, DataObject.format)
        .where(DataObject.dataset_id == dataset_id)
        .order_by(DataObject.name)
    ).all()
    return _handed_over(session, public_url, rows, excluded)


def entry_handovers(
    session: Session, public_url: str, dataset_id: str, entry_ids: list[str], excluded: Withheld
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
