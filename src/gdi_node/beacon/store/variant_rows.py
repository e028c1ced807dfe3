"""Reads of the allele-frequency database: variant rows for a query, the carrier slices of
the sites they start at, sample scopes.

Rows come back as plain Core rows (no ORM loading): a 1 Mb range reads thousands of them.
One row is one allele of a dataset (decision record 0020).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from gdi_node.beacon.framework.requests import VariantQuery
from gdi_node.beacon.model.assemblies import known_assemblies
from gdi_node.beacon.model.carriers import BITMAP_NAMES, AlleleBits, decode_slice
from gdi_node.beacon.model.variants import AlleleKey, variant_length
from gdi_node.beacon.store.generation import current_generation, with_generation
from gdi_node.beacon.store.uncalled import uncalled_at
from gdi_node.beacon.store.variant_bins import binned_values, rows_with_a_carrier
from gdi_node.beacon.store.variant_where import (
    FULL_COLUMNS,
    C,
    Located,
    V,
    Where,
    counted_rows,
    few_carrier_slices,
    matching_rows,
    page_of_rows,
    run,
    where_of,
)
from gdi_node.db.models import (
    BeaconCallset,
    BeaconGenotypeSet,
    BeaconSample,
    BeaconSampleGroup,
    ConsentOptOut,
)
from gdi_node.errors import InvalidInputError

__all__ = ["Counted", "Located", "SampleRows", "VariantRepository", "locate", "sample_rows"]
_CHUNK = 400  # variant ids per statement


class VariantRepository:
    """``spans``: per dataset, the longest stored variant (``Scopes.max_span``); it bounds how
    far before a range a variant overlapping it can start."""

    def __init__(self, session: Session, spans: Mapping[str, int]) -> None:
        self._session = session
        self._spans = spans

    def find(
        self,
        query: VariantQuery,
        located: Located | None,
        dataset_ids: Sequence[str],
        assemblies: Sequence[str],
        *,
        full: bool = True,
    ) -> list[Any]:
        """Variant rows matching ``query`` in ``dataset_ids``; without ``full`` only positions,
        alleles and carrier counts (no annotation)."""
        if not dataset_ids:
            return []
        where = self._where(query, located, dataset_ids, assemblies)
        rows = run(self._session, matching_rows(tuple(where.shape), full), where.values)
        if query.min_length is None and query.max_length is None:
            return rows
        low = query.min_length or 0
        high = query.max_length if query.max_length is not None else float("inf")
        return [r for r in rows if low <= variant_length(r.ref, r.alt, r.start, r.end) <= high]

    def count_alleles(
        self,
        query: VariantQuery,
        located: Located | None,
        dataset_ids: Sequence[str],
        assemblies: Sequence[str],
        opted_out: Mapping[str, tuple[int, BitMap]] | None = None,
    ) -> Counted:
        """Per dataset, the alleles matching ``query`` with a carrier in scope, counted by the
        database from the stored carrier counts, and the Beacon generation read in the same
        statement as the first count. Without an entry in ``opted_out`` the scope is the
        whole dataset. With one, ``(k, consenting)``: k of the dataset's bits opted out, so
        an allele with more than k carriers still has a consenting one: the alleles with a
        carrier are counted as for a whole dataset, less those with 1..k carriers, all opted
        out (only their carrier slices are read)."""
        counting = _Counting(self._session)
        opted_out = opted_out or {}
        whole = [d for d in dataset_ids if d not in opted_out]
        if whole:  # range counts from bins
            counting.add(*self._rows_with_a_carrier(self._where(query, located, whole, assemblies)))
        for dataset_id, (most, consenting) in opted_out.items():
            where = self._where(query, located, [dataset_id], assemblies)
            counted = counting.add(*self._rows_with_a_carrier(where)).get(dataset_id, 0)
            values = where.values | {"most": most}
            held: dict[int, bool] = {}
            for variant_id, slice_no, one, two in run(
                self._session, few_carrier_slices(tuple(where.shape)), values
            ):
                found = _has_any(consenting, slice_no, one, two)
                held[variant_id] = held.get(variant_id, False) or found
            counting.totals[dataset_id] = counted - sum(1 for h in held.values() if not h)
        return counting.result()

    @staticmethod
    def _rows_with_a_carrier(where: Where) -> tuple[Select[Any], dict[str, Any]]:
        """The statement and values counting, per dataset, the matching rows with a carrier;
        a range sums the bins it covers."""
        binned = binned_values(where)
        if binned is not None:
            return rows_with_a_carrier(tuple(where.shape)), binned
        return counted_rows(tuple(where.shape)), where.values

    def allele_page(
        self,
        query: VariantQuery,
        located: Located | None,
        dataset_id: str,
        assemblies: Sequence[str],
        *,
        offset: int,
        limit: int,
    ) -> list[tuple[AlleleKey, int]]:
        """One page of those alleles (position order) with their carrier counts."""
        where = self._where(query, located, [dataset_id], assemblies)
        values = where.values | {"offset": offset, "limit": limit}
        rows = run(self._session, page_of_rows(tuple(where.shape)), values)
        return [(AlleleKey(r[0], r[1], int(r[2]), r[3], r[4]), int(r[5])) for r in rows]

    def rows_of(self, keys: Sequence[AlleleKey], dataset_id: str) -> list[Any]:
        """Full rows of the given alleles in one dataset."""
        if not keys:
            return []
        # by position (the position index; SQLite scans for a row-value IN), then exact keys
        wanted = {(k.assembly, k.chrom, k.start, k.ref, k.alt) for k in keys}
        places = or_(
            *(
                and_(V.c.assembly == assembly, V.c.chrom == chrom, V.c.start.in_(starts))
                for (assembly, chrom), starts in _starts_by_sequence(keys).items()
            )
        )
        statement = select(*FULL_COLUMNS).where(V.c.dataset_id == dataset_id, places)
        rows = self._session.execute(statement.order_by(V.c.chrom, V.c.start, V.c.id))
        return [r for r in rows if (r.assembly, r.chrom, r.start, r.ref, r.alt) in wanted]

    def _where(
        self,
        query: VariantQuery,
        located: Located | None,
        dataset_ids: Sequence[str],
        assemblies: Sequence[str],
    ) -> Where:
        return where_of(query, located, dataset_ids, assemblies, self._spans)

    def generation(self) -> int:
        """The Beacon generation now (read after rows: gdi_node.beacon.queries.variant_answers)."""
        return current_generation(self._session)

    def full_rows(self, ids: Sequence[int]) -> list[Any]:
        """Full rows by id, in position order."""
        if not ids:
            return []
        statement = select(*FULL_COLUMNS).where(V.c.id.in_(list(ids)))
        return list(self._session.execute(statement.order_by(V.c.chrom, V.c.start, V.c.id)))

    def by_allele(self, key: AlleleKey, dataset_ids: Sequence[str]) -> list[Any]:
        statement = select(*FULL_COLUMNS).where(
            V.c.dataset_id.in_(dataset_ids),
            V.c.assembly == key.assembly,
            V.c.chrom == key.chrom,
            V.c.start == key.start,
            V.c.ref == key.ref,
            V.c.alt == key.alt,
        )
        return list(self._session.execute(statement))

    def uncalled_at(
        self, dataset_id: str, assembly: str, chrom: str, positions: Collection[int]
    ) -> dict[int, BitMap]:
        """Per position, the bits a gVCF gap holds there (gdi_node.beacon.store.uncalled)."""
        return uncalled_at(self._session, dataset_id, assembly, chrom, positions)

    def carrier_bits(self, variant_ids: Collection[int]) -> dict[int, AlleleBits]:
        """The carrier bits of alleles by id (their slices united), a chunk of ids per
        statement; an allele without a slice has no bit."""
        out: dict[int, AlleleBits] = {}
        ordered = sorted(set(variant_ids))
        columns = (C.c.variant_id, C.c.slice, *(C.c[name] for name in BITMAP_NAMES))
        for n in range(0, len(ordered), _CHUNK):
            chunk = ordered[n : n + _CHUNK]
            for row in self._session.execute(select(*columns).where(C.c.variant_id.in_(chunk))):
                found = AlleleBits.decoded(int(row[1]), row[2:])
                known = out.get(int(row[0]))
                out[int(row[0])] = found if known is None else known | found
        return out


@dataclass(frozen=True)
class Counted:
    """Alleles with a carrier in scope per dataset, and the generation they were counted at
    (read in the same statement as the first count)."""

    totals: dict[str, int]
    generation: int


class _Counting:
    """Runs count statements of (dataset_id, n) rows; the first also reads the generation."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.totals: dict[str, int] = {}
        self._generation: int | None = None

    def add(self, statement: Select[Any], values: Mapping[str, Any]) -> dict[str, int]:
        """Run one count statement; its totals are added to ``totals`` and returned."""
        if self._generation is None:
            rows = run(self._session, with_generation(statement), values)
            self._generation = int(rows[0][0])
            found = {row[1]: int(row[2]) for row in rows if row[1] is not None}
        else:
            found = {row[0]: int(row[1]) for row in run(self._session, statement, values)}
        self.totals |= found
        return found

    def result(self) -> Counted:
        if self._generation is None:  # nothing to count
            self._generation = current_generation(self._session)
        return Counted(self.totals, self._generation)


def _has_any(bits: BitMap, slice_no: int, *carrier_sets: bytes) -> bool:
    return any(not decode_slice(blob, slice_no).isdisjoint(bits) for blob in carrier_sets)


def _starts_by_sequence(keys: Sequence[AlleleKey]) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for key in keys:
        out.setdefault((key.assembly, key.chrom), []).append(key.start)
    return out


@dataclass(frozen=True)
class SampleRows:
    """Everything the scope cache is built from (gdi_node.beacon.queries.scopes)."""

    samples: list[tuple[int, str, str, str]]  # (sample_no, dataset_id, individual, biosample)
    opted_out: list[int]  # sample numbers
    opted_out_individuals: list[str]
    groups: list[tuple[int, str, str]]  # (sample_no, kind, name)
    # every callset: (id, dataset_id, assembly, state, mode, spans JSON, max_span)
    callsets: list[tuple[int, str, str, str, str, str | None, int]]
    bits: list[tuple[int, int, int]]  # (bit_no, callset_id, sample_no)


def sample_rows(session: Session) -> SampleRows:
    samples = [
        (r[0], r[1], r[2], r[3])
        for r in session.execute(
            select(
                BeaconSample.sample_no,
                BeaconSample.dataset_id,
                BeaconSample.individual_id,
                BeaconSample.biosample_id,
            )
        )
    ]
    opted_out_individuals = list(session.scalars(select(ConsentOptOut.individual_id)))
    opted = select(ConsentOptOut.individual_id)
    opted_out = list(
        session.scalars(select(BeaconSample.sample_no).where(BeaconSample.individual_id.in_(opted)))
    )
    groups = [
        (r[0], r[1], r[2])
        for r in session.execute(
            select(BeaconSampleGroup.sample_no, BeaconSampleGroup.kind, BeaconSampleGroup.name)
        )
    ]
    callsets = [
        (int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]))
        for r in session.execute(
            select(
                BeaconCallset.id,
                BeaconCallset.dataset_id,
                BeaconCallset.assembly,
                BeaconCallset.state,
                BeaconCallset.mode,
                BeaconCallset.spans,
                BeaconCallset.max_span,
            )
        )
    ]
    bits = [
        (int(r[0]), int(r[1]), int(r[2]))
        for r in session.execute(
            select(
                BeaconGenotypeSet.bit_no, BeaconGenotypeSet.callset_id, BeaconGenotypeSet.sample_no
            )
        )
    ]
    return SampleRows(samples, opted_out, opted_out_individuals, groups, callsets, bits)


def locate(query: VariantQuery) -> tuple[list[str], Located | None]:
    """The assemblies a query searches and, for a position query, its resolved sequence.

    ``assemblyId`` decides when given. Otherwise a RefSeq accession (in ``referenceName`` or a
    genomic HGVS) names its own assembly; other positions are on the default assembly; gene,
    amino-acid and HGVS queries without an accession search every assembly.
    """
    assemblies = known_assemblies()
    if query.assembly_id:
        found = assemblies.get(query.assembly_id)
        if found is None:
            raise InvalidInputError(
                f"unknown assemblyId {query.assembly_id!r}; known: {', '.join(assemblies.ids)}"
            )
        chosen = [found]
    else:
        sequence = query.reference_name or (query.genomic_allele_short_form or "").split(":")[0]
        named = [
            a
            for a in (assemblies.get(i) for i in assemblies.ids)
            if a is not None
            and sequence.upper().startswith(("NC_", "REFSEQ:"))
            and a.canonical(sequence)
        ]
        if named:
            chosen = named[:1]
        elif query.reference_name:
            chosen = [assemblies.default]
        else:
            chosen = [a for a in (assemblies.get(i) for i in assemblies.ids) if a is not None]
    ids = [a.id for a in chosen]
    if not query.reference_name:
        return ids, None
    name = query.reference_name
    return ids, Located(chosen[0].id, chosen[0].canonical(name) or name)
