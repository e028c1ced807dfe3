"""``gdi-node ingest metadata``: individuals, biosamples, runs, analyses, cohorts and dataset
records into a dataset, validated against the Beacon v2.1.1 default-model schemas.

Every file is read and every record checked before anything is written; then all records go in
one transaction. A record is replaced by a later one of the same entry type and id in the same
dataset, so loading the same files again leaves the same state. Problems are reported all at
once (record by record, at most 50 lines), and nothing is applied.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.framework.entry_index import index_record
from gdi_node.beacon.framework.model_schemas import violations
from gdi_node.beacon.ingest.bff_variants import load_bff_variants
from gdi_node.beacon.ingest.metadata_files import (
    FOLDERS,
    MetadataRecord,
    is_variant_file,
    read_records,
)
from gdi_node.beacon.store.entry_writes import (
    NewEntry,
    add_entry,
    biosample_owners,
    dataset_declared,
    delete_entry,
    stored_documents,
    stored_ids,
)
from gdi_node.beacon.store.generation import bump_generation
from gdi_node.errors import InvalidInputError, NotFoundError

_MAX_REPORT = 50


class MetadataRejectedError(InvalidInputError):
    """The files hold records that cannot be loaded; ``problems`` lists them."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:_MAX_REPORT]
        more = len(problems) - len(shown)
        lines = "\n".join(f"  {p}" for p in shown) + (f"\n  … and {more} more" if more else "")
        super().__init__(f"{len(problems)} problem(s); nothing was loaded:\n{lines}")
        self.problems = problems


@dataclass
class MetadataIngestResult:
    dataset_id: str
    loaded: dict[str, int] = field(default_factory=dict)  # entry type -> records
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)  # genomicVariations file -> status
    seconds: float = 0.0


def _links(record: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    def text(key: str) -> str | None:
        value = record.get(key)
        return str(value)[:128] if isinstance(value, str | int) and str(value) else None

    return text("individualId"), text("biosampleId"), text("runId")


class MetadataIngestor:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def ingest(
        self,
        paths: Sequence[Path],
        dataset_id: str,
        *,
        entry_type: str | None = None,
        accept_invalid: bool = False,
    ) -> MetadataIngestResult:
        began = time.perf_counter()
        variant_files = [p for p in paths if is_variant_file(p)]
        records = [
            r for path in paths if not is_variant_file(path) for r in read_records(path, entry_type)
        ]
        result = MetadataIngestResult(dataset_id)
        problems = self._check(records, result, accept_invalid=accept_invalid)
        with self._sessions() as session, session.begin():
            if not dataset_declared(session, dataset_id):
                raise NotFoundError(
                    f"dataset {dataset_id!r} is not declared; add it under 'datasets:' in the"
                    " configuration"
                )
            problems += _broken_links(session, dataset_id, records)
            if problems:
                raise MetadataRejectedError(problems)
            stored = stored_documents(session, dataset_id, _ids_by_type(records))
            for item in records:
                self._store(session, dataset_id, item, result, stored)
            owners = biosample_owners(session, dataset_id)
            for path in variant_files:
                if path.name.removesuffix(".json") != "genomicVariations":
                    continue  # caseLevelData.json and targets.json are read with it
                loaded = load_bff_variants(session, dataset_id, path, owners)
                result.variants[path.name] = f"{loaded.status}: {loaded.variants} variants"
            changed = any(not v.startswith("unchanged") for v in result.variants.values())
            if result.added or result.replaced or changed:
                bump_generation(session)
        result.seconds = time.perf_counter() - began
        return result

    @staticmethod
    def _check(
        records: list[MetadataRecord], result: MetadataIngestResult, *, accept_invalid: bool
    ) -> list[str]:
        problems: list[str] = []
        seen: dict[tuple[str, str], str] = {}
        for item in records:
            record = item.record
            if not isinstance(record, dict):
                problems.append(f"{item.where}: a record must be a JSON object")
                continue
            record_id = record.get("id")
            if not isinstance(record_id, str) or not record_id.strip() or len(record_id) > 128:
                problems.append(f"{item.where}: 'id' must be a string of 1 to 128 characters")
                continue
            key = (item.entry_type, record_id)
            if key in seen:
                problems.append(
                    f"{item.where}: {item.entry_type} {record_id!r} also in {seen[key]}"
                )
            seen[key] = item.where
            for violation in violations(FOLDERS[item.entry_type], record):
                line = f"{item.where} {item.entry_type} {record_id!r}: {violation}"
                (result.warnings if accept_invalid else problems).append(line)
        return problems

    @staticmethod
    def _store(
        session: Session,
        dataset_id: str,
        item: MetadataRecord,
        result: MetadataIngestResult,
        stored: dict[tuple[str, str], tuple[int, str]],
    ) -> None:
        record = item.record
        document = json.dumps(record, sort_keys=True, separators=(",", ":"))
        individual, biosample, run = _links(record)
        if item.entry_type == "individual":
            individual = record["id"]
        elif item.entry_type == "biosample":
            biosample = record["id"]
        elif item.entry_type == "run":
            run = record["id"]
        existing = stored.get((item.entry_type, record["id"]))
        result.loaded[item.entry_type] = result.loaded.get(item.entry_type, 0) + 1
        if existing is not None and existing[1] == document:
            result.unchanged += 1
            return
        if existing is not None:
            delete_entry(session, existing[0])
            result.replaced += 1
        else:
            result.added += 1
        entry = NewEntry(
            entry_type=item.entry_type,
            dataset_id=dataset_id,
            entry_id=record["id"],
            individual_id=individual,
            biosample_id=biosample,
            run_id=run,
            source=item.where,
            document=document,
        )
        add_entry(session, entry, index_record(item.entry_type, record))


def _ids_by_type(records: list[MetadataRecord]) -> dict[str, list[str]]:
    """Entry type -> the ids of this load's records of that type."""
    ids: dict[str, list[str]] = {}
    for item in records:
        ids.setdefault(item.entry_type, []).append(item.record["id"])
    return ids


def _broken_links(session: Session, dataset_id: str, records: list[MetadataRecord]) -> list[str]:
    """Records naming an individual or biosample that is neither loaded nor in this load."""
    loading = {
        (item.entry_type, item.record["id"])
        for item in records
        if isinstance(item.record, dict) and isinstance(item.record.get("id"), str)
    }
    known = loading | stored_ids(session, dataset_id, ("individual", "biosample"))
    problems = []
    for item in records:
        if not isinstance(item.record, dict) or item.entry_type in ("cohort", "dataset"):
            continue
        individual, biosample, _ = _links(item.record)
        if individual and ("individual", individual) not in known:
            problems.append(f"{item.where}: individualId {individual!r} is not a loaded individual")
        if biosample and item.entry_type != "biosample" and ("biosample", biosample) not in known:
            problems.append(f"{item.where}: biosampleId {biosample!r} is not a loaded biosample")
    return problems
