"""Writes of a variant load (VCF/BCF: gdi_node.beacon.ingest.vcf; BFF genomic variations:
gdi_node.beacon.ingest.bff_variants): one row per allele and dataset, whose carrier slices a
load ORs its bits into (decision record 0020), and the planner statistics refreshed once a
load is shown.

A batch costs what its own alleles cost, whatever the dataset holds: their rows are found by
position (the unique allele key), missing ones inserted, and only the slices their bits fall
in are read and rewritten (one per allele for a single genome). The stored carrier count and
the range-count bins (gdi_node.beacon.store.variant_bins) move with them; answers read them
only when no file of the dataset is being loaded or removed (gdi_node.beacon.queries.scopes).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.model.carriers import BITMAP_NAMES, AlleleBits
from gdi_node.beacon.store.variant_bins import BIN_SIZE, add_bins
from gdi_node.db.models import BeaconCarrierSlice, BeaconVariant, BeaconVariantTerm

Term = tuple[str, str]  # (kind, term) of beacon_variant_terms: ("gene", "BRCA2"), ("hgvs", …)
_MAX_TERM = 255  # beacon_variant_terms.term
_VARIANTS = cast(Table, BeaconVariant.__table__)
_SLICES = cast(Table, BeaconCarrierSlice.__table__)
_TERMS = cast(Table, BeaconVariantTerm.__table__)
_ANALYSED = (
    "beacon_variants", "beacon_carriers", "beacon_variant_bins", "beacon_variant_terms",
    "beacon_samples", "beacon_genotype_sets",
)  # fmt: skip
_KEY = ("dataset_id", "assembly", "chrom", "start", "ref", "alt")
_CHUNK = 400  # bound parameters per IN list


@dataclass
class NewAllele:
    """One allele a load brings: its row's columns (``dataset_id``, ``assembly``, ``chrom``,
    ``start``, ``end``, ``ref``, ``alt``, ``variant_type``, ``annotation`` as JSON), the bits
    it adds and its search terms."""

    row: dict[str, Any]
    bits: AlleleBits
    terms: list[Term] = field(default_factory=list)

    @property
    def key(self) -> tuple[Any, ...]:
        return tuple(self.row[k] for k in _KEY)


@dataclass(frozen=True)
class BatchWritten:
    alleles: int  # alleles the batch brought (with a bit)
    created: int  # rows inserted
    slices: int  # carrier slice rows written


def write_alleles(session: Session, batch: Sequence[NewAllele]) -> BatchWritten:
    """Add the batch's alleles to their rows in the caller's transaction: rows created where
    missing, bits ORed into their slices, carrier counts, bins, annotations and terms."""
    merged: dict[tuple[Any, ...], NewAllele] = {}
    for allele in batch:
        if allele.bits.is_empty():
            continue  # nobody's genotype: nothing to count
        known = merged.get(allele.key)
        if known is None:
            merged[allele.key] = NewAllele(
                dict(allele.row), allele.bits | AlleleBits(), [*allele.terms]
            )
        else:
            known.bits |= allele.bits
            known.terms += allele.terms
            known.row["end"] = max(known.row["end"], allele.row["end"])
    if not merged:
        return BatchWritten(0, 0, 0)
    for dataset_id in sorted({key[0] for key in merged}):
        _lock_dataset(session, dataset_id)
    stored = _rows(session, merged)
    missing = [a for key, a in merged.items() if key not in stored]
    if missing:
        _insert(session, missing)
        stored |= _rows(session, {a.key: a for a in missing})
    slices = _write_slices(session, merged, stored)
    _update_rows(session, merged, stored, slices.carriers)
    _write_terms(session, merged, stored)
    return BatchWritten(len(merged), len(missing), slices.written)


def _lock_dataset(session: Session, dataset_id: str) -> None:
    """PostgreSQL: writers of one dataset take turns per transaction (their slices are read,
    ORed and written back); SQLite has one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(dataset_id.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _rows(session: Session, wanted: dict[tuple[Any, ...], NewAllele]) -> dict[tuple[Any, ...], Any]:
    """The stored rows of ``wanted``'s alleles by key (found by position, then exact key)."""
    places: dict[tuple[str, str, str], set[int]] = {}
    for dataset_id, assembly, chrom, start, _, _ in wanted:
        places.setdefault((dataset_id, assembly, chrom), set()).add(int(start))
    out: dict[tuple[Any, ...], Any] = {}
    columns = (_VARIANTS.c.id, _VARIANTS.c.carriers, _VARIANTS.c.end, _VARIANTS.c.annotation)
    for (dataset_id, assembly, chrom), starts in places.items():
        ordered = sorted(starts)
        for n in range(0, len(ordered), _CHUNK):
            found = session.execute(
                select(*columns, *(_VARIANTS.c[k] for k in _KEY)).where(
                    _VARIANTS.c.dataset_id == dataset_id,
                    _VARIANTS.c.assembly == assembly,
                    _VARIANTS.c.chrom == chrom,
                    _VARIANTS.c.start.in_(ordered[n : n + _CHUNK]),
                )
            )
            for row in found:
                key = tuple(getattr(row, k) for k in _KEY)
                if key in wanted:
                    out[key] = row
    return out


def _insert(session: Session, missing: list[NewAllele]) -> None:
    """New rows (no carrier yet: the slices add them); a row another writer inserted
    meanwhile is kept."""
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(_VARIANTS)
    statement = statement.on_conflict_do_nothing(index_elements=[_VARIANTS.c[k] for k in _KEY])
    session.execute(statement, [a.row | {"carriers": 0} for a in missing])


@dataclass(frozen=True)
class _SlicesWritten:
    written: int
    carriers: dict[int, int]  # variant id -> carriers added


def _write_slices(
    session: Session, merged: dict[tuple[Any, ...], NewAllele], stored: dict[tuple[Any, ...], Any]
) -> _SlicesWritten:
    """Read the slices the batch's bits fall in, OR the bits in, write them back."""
    wanted: dict[tuple[int, int], AlleleBits] = {}
    for key, allele in merged.items():
        variant_id = int(stored[key].id)
        for slice_no, part in allele.bits.by_slice().items():
            wanted[(variant_id, slice_no)] = part
    current = _slices(session, wanted)
    values, added = [], Counter[int]()
    for (variant_id, slice_no), part in wanted.items():
        before = current.get((variant_id, slice_no), AlleleBits())
        after = before | part
        added[variant_id] += after.carriers - before.carriers
        values.append({"variant_id": variant_id, "slice": slice_no} | after.encoded(slice_no))
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(_SLICES)
    statement = statement.on_conflict_do_update(
        index_elements=[_SLICES.c.variant_id, _SLICES.c.slice],
        set_={name: statement.excluded[name] for name in BITMAP_NAMES},
    )
    session.execute(statement, values)
    return _SlicesWritten(len(values), dict(added))


def _slices(
    session: Session, wanted: dict[tuple[int, int], AlleleBits]
) -> dict[tuple[int, int], AlleleBits]:
    by_slice: dict[int, list[int]] = {}
    for variant_id, slice_no in wanted:
        by_slice.setdefault(slice_no, []).append(variant_id)
    out = {}
    for slice_no, ids in by_slice.items():
        for n in range(0, len(ids), _CHUNK):
            rows = session.execute(
                select(_SLICES.c.variant_id, *(_SLICES.c[name] for name in BITMAP_NAMES)).where(
                    _SLICES.c.slice == slice_no, _SLICES.c.variant_id.in_(ids[n : n + _CHUNK])
                )
            )
            for row in rows:
                out[(int(row[0]), slice_no)] = AlleleBits.decoded(slice_no, row[1:])
    return out


def _update_rows(
    session: Session,
    merged: dict[tuple[Any, ...], NewAllele],
    stored: dict[tuple[Any, ...], Any],
    added: dict[int, int],
) -> None:
    """Carrier counts, ends and annotations of the touched rows; bins of the alleles that got
    their first carrier."""
    changes, first_carriers = [], []
    for key, allele in merged.items():
        row = stored[key]
        variant_id = int(row.id)
        more = added.get(variant_id, 0)
        note = merged_annotation(row.annotation, allele.row["annotation"])
        end = max(int(row.end), int(allele.row["end"]))
        if more or note != row.annotation or end != int(row.end):
            changes.append({"b_id": variant_id, "b_more": more, "b_note": note, "b_end": end})
        if int(row.carriers) == 0 and more > 0:
            first_carriers.append(allele.row)
    if changes:
        session.execute(
            update(_VARIANTS)
            .where(_VARIANTS.c.id == bindparam("b_id"))
            .values(
                carriers=_VARIANTS.c.carriers + bindparam("b_more"),
                annotation=bindparam("b_note"),
                end=bindparam("b_end"),
            ),
            changes,
        )
    add_bins(session, Counter(_bin_of(row) for row in first_carriers))


def _bin_of(row: dict[str, Any]) -> tuple[str, str, str, int, str]:
    return (row["dataset_id"], row["assembly"], row["chrom"], row["start"] // BIN_SIZE,
            row["variant_type"])  # fmt: skip


def merged_annotation(stored: str, new: str) -> str:
    """The union of two annotation documents (genes, HGVS, effects: lists of names)."""
    if stored == new:
        return stored
    merged: dict[str, set[str]] = {}
    for document in (stored, new):
        for name, values in json.loads(document).items():
            merged.setdefault(name, set()).update(values)
    return json.dumps({n: sorted(v) for n, v in sorted(merged.items())}, separators=(",", ":"))


def _write_terms(
    session: Session, merged: dict[tuple[Any, ...], NewAllele], stored: dict[tuple[Any, ...], Any]
) -> None:
    """Terms (cut to the column's length), each once per allele; those stored are kept."""
    terms = {
        (int(stored[key].id), kind, value[:_MAX_TERM])
        for key, allele in merged.items()
        for kind, value in allele.terms
    }
    if not terms:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(_TERMS)
    statement = statement.on_conflict_do_nothing()
    session.execute(
        statement, [{"variant_id": v, "kind": k, "term": t} for v, k, t in sorted(terms)]
    )


def refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """Let the query planner see the new rows (otherwise PostgreSQL waits for autovacuum and
    may scan instead of using the term and position indexes)."""
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"ANALYZE {', '.join(_ANALYSED)}"))
        else:  # sampled statistics: bounded time however large the tables are
            session.execute(text("PRAGMA analysis_limit=2000"))
            for table in _ANALYSED:
                session.execute(text(f"ANALYZE {table}"))
