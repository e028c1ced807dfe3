"""Range counts from bins (gdi_node.beacon.store.variant_bins) equal counting every overlapping
allele; bins follow the alleles through loads, replacements and withdrawals (the migration to
one row per allele: test_beacon_one_row_per_allele). On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.framework.requests import VariantQuery
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.ingest.withdraw import withdraw
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.beacon.store.variant_bins import BIN_SIZE, binned_values
from gdi_node.beacon.store.variant_rows import VariantRepository, locate
from gdi_node.beacon.store.variant_where import where_of
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconVariant, BeaconVariantBin
from tests.conftest import shared_path
from tests.support.beacon_data import write_vcf

DATASET = "DS-PUBLIC"
TYPES = {None: None, "INDEL": {"DEL", "INS", "INDEL"}, "SNP": {"SNP"}}


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def _count(session: Session, first: int, last: int, variant_type: str | None = None) -> int:
    query = VariantQuery(
        reference_name="chr22", start=(first,), end=(last,), variant_type=variant_type
    )
    scopes = ScopeCache().get(session)
    repo = VariantRepository(session, scopes.max_span)
    assemblies, located = locate(query)
    return repo.count_alleles(query, located, [DATASET], assemblies).totals.get(DATASET, 0)


def _overlapping(rows: list[Any], first: int, last: int, types: set[str] | None) -> int:
    return sum(
        1
        for r in rows
        if r.start < last and r.end > first and r.carriers > 0
        and (types is None or r.variant_type in types)
    )  # fmt: skip


def _binned(session: Session, first: int, last: int) -> bool:
    query = VariantQuery(reference_name="chr22", start=(first,), end=(last,))
    assemblies, located = locate(query)
    spans = ScopeCache().get(session).max_span
    return binned_values(where_of(query, located, [DATASET], assemblies, spans)) is not None


def _ranges(rows: list[Any]) -> list[tuple[int, int]]:
    """Ranges at and beside bin edges, starting inside deletions, and random ones."""
    low, high = min(r.start for r in rows), max(r.end for r in rows)
    edges = [k * BIN_SIZE + d for k in range(low // BIN_SIZE, high // BIN_SIZE + 2)
             for d in (-1, 0, 1)]  # fmt: skip
    rng = random.Random(20261122)
    ranges = [(a, b) for a, b in zip(edges, edges[9:], strict=False) if a < b]
    ranges += [(low - BIN_SIZE, high + BIN_SIZE), (edges[3], edges[4]), (edges[4], edges[5])]
    inside = [r for r in rows if r.end - r.start > 1]
    ranges += [(r.start + 1, r.start + 1 + rng.randrange(1, 80_000)) for r in inside[::4]]
    ranges += [(a, a + rng.randrange(1, 200_000)) for a in rng.sample(range(low, high), 60)]
    return ranges


@pytest.mark.slow  # every range of the 1000 Genomes file counted twice (12-15 s)
def test_range_counts_from_bins_equal_counting_every_overlapping_allele(
    sessions: sessionmaker[Session],
) -> None:
    VcfIngestor(sessions).ingest(shared_path("data", "vcf", "test_1000G_hg38.vcf.gz"), DATASET)
    with sessions() as session:
        rows = list(session.execute(select(BeaconVariant)).scalars())
        ranges = _ranges(rows)
        binned = [r for r in ranges if _binned(session, *r)]
        assert len(binned) > len(ranges) // 2  # most of these ranges are counted from bins
        for n, (first, last) in enumerate(ranges):
            variant_type = (None, None, "INDEL", "SNP")[n % 4]
            expected = _overlapping(rows, first, last, TYPES[variant_type])
            assert _count(session, first, last, variant_type) == expected, (first, last)
        # the count reads the bins: changing those inside a range changes its answer
        first, last = max(binned, key=lambda r: _count(session, *r))
        before = _count(session, first, last)
        result = session.execute(
            update(BeaconVariantBin)
            .where(BeaconVariantBin.bin.between(first // BIN_SIZE + 1, last // BIN_SIZE - 1))
            .values(alleles=BeaconVariantBin.alleles + 1000)
        )
        assert isinstance(result, CursorResult)  # an UPDATE's result has a row count
        changed = result.rowcount
        assert changed > 0
        assert _count(session, first, last) == before + 1000 * changed


def _bins(session: Session) -> Counter[tuple[Any, ...]]:
    return Counter(
        {
            (b.dataset_id, b.assembly, b.chrom, b.bin, b.variant_type): b.alleles
            for b in session.execute(select(BeaconVariantBin)).scalars()
        }
    )


def _bins_from_rows(session: Session) -> Counter[tuple[Any, ...]]:
    rows = session.execute(select(BeaconVariant).where(BeaconVariant.carriers > 0)).scalars()
    return Counter(
        (r.dataset_id, r.assembly, r.chrom, r.start // BIN_SIZE, r.variant_type) for r in rows
    )


def _records(positions: list[int], carrier: str) -> list[str]:
    return [
        f"chr22\t{p}\t.\t{'AT' if n % 3 == 0 else 'A'}\tG\t.\tPASS\t.\tGT\t{carrier}\t0/0"
        for n, p in enumerate(positions)
    ]


def test_bins_follow_the_alleles_through_loads_replacements_and_withdrawals(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first = write_vcf(
        tmp_path / "a.vcf.gz", ["S1", "S2"], _records([5, 9_999, 10_001, 35_000], "0/1")
    )
    # other people (the same people on an overlapping span would be a re-analysis)
    other = write_vcf(tmp_path / "b.vcf.gz", ["S3", "S4"], _records([20_000, 20_001], "1/1"))
    nobody = write_vcf(tmp_path / "c.vcf.gz", ["S1", "S2"], _records([40_000], "0/0"))
    ingest = VcfIngestor(sessions).ingest
    ingest(first, DATASET)
    ingest(nobody, DATASET)  # an allele without a carrier is never counted, nor binned
    with sessions() as session:
        assert _bins(session) == _bins_from_rows(session)
        assert sum(_bins(session).values()) == 4
    replacement = tmp_path / "a.vcf.gz"
    write_vcf(replacement, ["S1", "S2"], _records([12_345, 99_999], "0/1"))
    ingest(replacement, DATASET, update=True)
    ingest(other, DATASET)
    with sessions() as session:
        bins = _bins(session)
        assert bins == _bins_from_rows(session)
        assert sorted(key[3] for key in bins.elements()) == [1, 1, 2, 9]
    withdraw(sessions, DATASET, file_name="b.vcf.gz")
    with sessions() as session:
        assert _bins(session) == _bins_from_rows(session)
        assert sorted(key[3] for key in _bins(session).elements()) == [1, 9]


def test_a_range_starting_on_a_bin_edge_counts_that_bin_whole_and_exactly(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    edge = 2 * BIN_SIZE  # 0-based; the 1-based POS of an allele starting there is edge + 1
    lines = [
        f"chr22\t{edge}\t.\tA\tG\t.\tPASS\t.\tGT\t0/1",  # ends at the edge: outside
        f"chr22\t{edge}\t.\tAT\tA\t.\tPASS\t.\tGT\t0/1",  # starts before, reaches over: inside
        f"chr22\t{edge + 1}\t.\tC\tG\t.\tPASS\t.\tGT\t0/1",  # starts on the edge: inside
        f"chr22\t{edge + 1}\t.\tC\t<DEL>\t.\tPASS\tEND={edge - 9}\tGT\t0/1",  # END before POS
        f"chr22\t{edge + 15_000}\t.\tA\tG\t.\tPASS\t.\tGT\t1/1",
    ]
    lines = [f"{line}\t0/0" for line in lines]
    VcfIngestor(sessions).ingest(write_vcf(tmp_path / "e.vcf.gz", ["S1", "S2"], lines), DATASET)
    first, last = edge, edge + 3 * BIN_SIZE
    query = VariantQuery(reference_name="chr22", start=(first,), end=(last,))
    assemblies, located = locate(query)
    with sessions() as session:
        spans = ScopeCache().get(session).max_span
        values = binned_values(where_of(query, located, [DATASET], assemblies, spans))
        assert values is not None
        assert values["bin_from"] == edge // BIN_SIZE
        rows = list(session.execute(select(BeaconVariant)).scalars())
        assert all(r.end > r.start for r in rows)  # every allele covers a base
        assert _overlapping(rows, first, last, None) == 4
        assert _count(session, first, last) == 4
        # one base later, the three one-base alleles at the edge end before the range
        assert _overlapping(rows, first + 1, last, None) == 1
        assert _count(session, first + 1, last) == 1
