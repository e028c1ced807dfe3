"""SQL only: the facts of each dataset the catalogue publishes (healthdcatap:numberOfRecords,
healthdcatap:numberOfUniqueIndividuals, whether it has files, when it last changed), read from
the tables declared in gdi_node.db.models, never from another API's package.

The two counts read the Beacon's tables, so they are kept per Beacon data generation (the
counter every load, removal and consent change bumps): a catalogue request reads the
generation and recounts only when it moved. Files are read every time (a small table).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.catalogue.model import DatasetFacts
from gdi_node.db.models import (
    BeaconCallset,
    BeaconEntry,
    BeaconGeneration,
    BeaconSample,
    BeaconVariantBin,
    ConsentOptOut,
    DataObject,
)

_Counts = tuple[int, int, datetime | None]  # records, individuals, last load


def _utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; the node stores UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _records(session: Session, dataset_id: str) -> int:
    """Alleles with a carrier: the sum of the dataset's range-count bins (one bin row per
    10 kb and variant type), without reading the variant table."""
    total = session.scalar(
        select(func.coalesce(func.sum(BeaconVariantBin.alleles), 0)).where(
            BeaconVariantBin.dataset_id == dataset_id
        )
    )
    return int(total or 0)


def _individuals(session: Session, dataset_id: str) -> int:
    """Distinct people with genotypes or metadata records in the dataset, opted-out ones left
    out (decision record 0012)."""
    genotyped = select(BeaconSample.individual_id.label("person")).where(
        BeaconSample.dataset_id == dataset_id
    )
    recorded = select(BeaconEntry.individual_id.label("person")).where(
        BeaconEntry.dataset_id == dataset_id,
        BeaconEntry.entry_type == "individual",
        BeaconEntry.individual_id.is_not(None),
    )
    people = union(genotyped, recorded).subquery()
    opted_out = select(ConsentOptOut.individual_id)
    count = session.scalar(
        select(func.count()).select_from(people).where(people.c.person.not_in(opted_out))
    )
    return int(count or 0)


def _last_load(session: Session, dataset_id: str) -> datetime | None:
    loaded = session.scalar(
        select(func.max(BeaconCallset.loaded_time)).where(
            BeaconCallset.dataset_id == dataset_id, BeaconCallset.state == "ready"
        )
    )
    opted = session.scalar(
        select(func.max(ConsentOptOut.opted_out_time)).where(
            ConsentOptOut.individual_id.in_(
                select(BeaconSample.individual_id).where(BeaconSample.dataset_id == dataset_id)
            )
        )
    )
    times = [t for t in (_utc(loaded), _utc(opted)) if t is not None]
    return max(times) if times else None


class FactsStore:
    """Per-dataset facts, the counts cached per Beacon generation (shared by the threads of
    one worker)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._counts: dict[str, _Counts] = {}

    def facts(self, dataset_ids: Sequence[str]) -> dict[str, DatasetFacts]:
        """The facts of each of ``dataset_ids`` as of now."""
        with self._sessions() as session:
            generation = int(
                session.scalar(select(BeaconGeneration.value).where(BeaconGeneration.id == 1)) or 0
            )
            with self._lock:
                if generation != self._generation:
                    self._counts, self._generation = {}, generation
                counts = dict(self._counts)
            for dataset_id in dataset_ids:
                if dataset_id not in counts:
                    counts[dataset_id] = (
                        _records(session, dataset_id),
                        _individuals(session, dataset_id),
                        _last_load(session, dataset_id),
                    )
            with self._lock:
                if generation == self._generation:
                    self._counts.update(counts)
            files = dict(
                session.execute(
                    select(DataObject.dataset_id, func.max(DataObject.updated_time))
                    .where(DataObject.dataset_id.in_(list(dataset_ids)))
                    .group_by(DataObject.dataset_id)
                ).all()
            )
        facts = {}
        for dataset_id in dataset_ids:
            records, individuals, loaded = counts[dataset_id]
            changed = [t for t in (loaded, _utc(files.get(dataset_id))) if t is not None]
            facts[dataset_id] = DatasetFacts(
                records=records,
                individuals=individuals,
                has_files=dataset_id in files,
                modified=max(changed) if changed else None,
            )
        return facts
