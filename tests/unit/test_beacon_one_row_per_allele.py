"""One row per allele and dataset, carrier bits in slices (decision record 0020): the row
count is the number of distinct alleles, adding a genome writes one slice row per allele it
carries whatever the dataset holds, and databases written before are converted without
reloading (migration 0012). SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pyroaring import BitMap
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.ingest.withdraw import withdraw
from gdi_node.beacon.model.carriers import SLICE_BITS, decode_slice, encode_slice
from gdi_node.beacon.model.spans import Spans
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.store.variant_bins import BIN_SIZE
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine
from gdi_node.db.models import (
    BeaconCallset,
    BeaconCarrierSlice,
    BeaconGenotypeSet,
    BeaconVariant,
    BeaconVariantBin,
    BeaconVariantTerm,
)
from gdi_node.errors import ConflictError
from tests.support.beacon_data import allele_counts, write_vcf
from tests.support.legacy_database import LegacyFile, LegacyRow, write_legacy_database

DS = "DS-PUBLIC"
NOCALL = Callability(absent="nocall")


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def counts(sessions: sessionmaker[Session], pos: int, ref: str, alt: str) -> tuple[int, ...]:
    """AC, AN, carriers and homozygotes of an allele on chr22 (1-based ``pos``), as served."""
    found = allele_counts(sessions, AlleleKey("GRCh38", "22", pos - 1, ref, alt), DS)
    return found.allele_count, found.allele_number, found.carriers, found.homozygous


def number_of(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_slice_round_trips_sparse_and_dense() -> None:
    for bits in ([5, 4095], list(range(8192, 8192 + 300)), list(range(4096, 8192, 2))):
        slice_no = bits[0] // SLICE_BITS
        encoded = encode_slice(BitMap(bits), slice_no)
        assert list(decode_slice(encoded, slice_no)) == bits
    dense = encode_slice(BitMap(range(0, 4096)), 0)
    assert len(dense) == 1 + SLICE_BITS // 8  # a raw bitset, not an 8 kB roaring container


def test_the_rows_are_the_distinct_alleles_of_every_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = VcfIngestor(sessions).ingest
    joint = write_vcf(tmp_path / "joint.vcf.gz", ["S1", "S2"], [
        "chr22\t100\t.\tA\tG,T\t.\tPASS\t.\tGT\t0/1\t1/2",
        "chr22\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/1",
    ])  # fmt: skip
    other = write_vcf(tmp_path / "other.vcf.gz", ["S3", "S4"], [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t1/1\t0/0",
        "chr22\t300\t.\tG\tA\t.\tPASS\t.\tGT\t0/1\t0/0",
    ])  # fmt: skip
    ingest(joint, DS)
    ingest(other, DS)
    assert number_of(sessions, BeaconVariant) == 4  # 100 A>G, 100 A>T, 200 C>T, 300 G>A
    with sessions() as session:
        keys = session.execute(select(BeaconVariant.start, BeaconVariant.ref, BeaconVariant.alt))
        assert len(set(keys)) == 4
    # both files' samples are called at 100 (joint files: absent = reference on their contigs)
    assert counts(sessions, 100, "A", "G") == (4, 8, 3, 1)
    assert counts(sessions, 300, "G", "A") == (1, 8, 1, 0)


def _genome(folder: Path, n: int, positions: list[int]) -> Path:
    records = [f"chr22\t{p}\t.\tA\tG\t.\tPASS\t.\tGT\t0/1" for p in positions]
    return write_vcf(folder / f"G{n}.vcf.gz", [f"G{n}"], records)


@pytest.mark.parametrize("loaded", [50, 500])
def test_adding_a_genome_writes_one_slice_row_per_allele_it_carries(
    sessions: sessionmaker[Session], tmp_path: Path, loaded: int
) -> None:
    """The rows a genome writes are its own alleles' (one slice each), at 50 genomes as at
    500: the cost of genome N+1 does not grow with N (the slices hold at most 4,096 bits)."""
    shared = list(range(1000, 1040))  # 40 alleles everyone carries
    ingest = VcfIngestor(sessions, batch_size=10_000).ingest
    joint_names = [f"J{n}" for n in range(loaded)]
    cohort = write_vcf(tmp_path / "cohort.vcf.gz", joint_names, [
        f"chr22\t{p}\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join("0/1" for _ in joint_names)
        for p in shared
    ])  # fmt: skip
    ingest(cohort, DS)
    before = number_of(sessions, BeaconCarrierSlice)
    added = ingest(_genome(tmp_path, 0, [*shared[:10], 5000, 5001]), DS, callability=NOCALL)
    assert added.slices == 12  # 10 shared alleles and 2 new ones: one slice row each
    assert number_of(sessions, BeaconCarrierSlice) == before + 2
    assert number_of(sessions, BeaconVariant) == len(shared) + 2


def test_withdrawing_a_genome_clears_its_bits_and_keeps_the_others(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
    ingest(_genome(tmp_path, 1, [100, 200]), DS)
    ingest(_genome(tmp_path, 2, [100]), DS)
    assert counts(sessions, 100, "A", "G") == (2, 4, 2, 0)
    withdraw(sessions, DS, biosample_id="G1")
    assert counts(sessions, 100, "A", "G") == (1, 2, 1, 0)
    assert number_of(sessions, BeaconVariant) == 1  # 200 had no other carrier
    assert number_of(sessions, BeaconGenotypeSet) == 1
    with sessions() as session:
        [(slice_no, one)] = session.execute(
            select(BeaconCarrierSlice.slice, BeaconCarrierSlice.one_copy)
        ).all()
        assert len(decode_slice(one, slice_no)) == 1
        bins = session.execute(select(BeaconVariantBin.bin, BeaconVariantBin.alleles)).all()
        assert [tuple(b) for b in bins] == [(0, 1)]


# --- migration 0012 ----------------------------------------------------------------------------

LEGACY = [
    LegacyFile("joint.vcf.gz", ("S1", "S2", "S3"), (
        LegacyRow("22", 100, "A", "G", frozenset({"S1"}), frozenset({"S2"}),
                  none_called=frozenset({"S3"}), genes=("GENE1",)),
        LegacyRow("22", 200, "C", "T", frozenset({"S1", "S3"}), one_called=frozenset({"S2"})),
    )),
    LegacyFile("HG1.vcf.gz", ("HG1",), (
        LegacyRow("22", 100, "A", "G", frozenset({"HG1"}), genes=("GENE1", "GENE2")),
        LegacyRow("22", 30_300, "G", "A", two_copies=frozenset({"HG1"})),
    )),
    LegacyFile("HG2.vcf.gz", ("HG2",), (
        LegacyRow("22", 100, "A", "G", two_copies=frozenset({"HG2"})),
        LegacyRow("22", 100, "A", "C"),  # called, no copy: counted in its allele number
    )),
    LegacyFile("(loading x) HG3.vcf.gz", ("HG3",), (
        LegacyRow("22", 100, "A", "G", frozenset({"HG3"})),
    ), state="loading"),
]  # fmt: skip


def test_an_existing_database_becomes_one_row_per_allele_with_the_same_counts(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    """Per-file rows are merged (bitmaps ORed as bits, terms and annotations united), a file
    being loaded is dropped, bins are rebuilt per dataset; single-sample files keep the allele
    numbers they had (``absent_nocall``), joint files count absent as reference."""
    settings = make_settings(database_url=database_url)
    engine = make_engine(settings.effective_database_url)
    try:
        write_legacy_database(engine, DS, LEGACY)
    finally:
        engine.dispose()
    with migrated_sessions(settings) as sessions:
        assert number_of(sessions, BeaconVariant) == 4  # 100 A>G, 100 A>C, 200, 30300
        assert number_of(sessions, BeaconCallset) == 3
        # joint 2*3 - 2 (S3 ./.) + HG1 2 + HG2 2: as the per-file rows summed
        assert counts(sessions, 100, "A", "G") == (6, 8, 4, 2)
        # HG2 called without a copy (HG1 had no such record); the joint file's samples now
        # count as reference where it has no record (0 carriers: never a hit)
        assert counts(sessions, 100, "A", "C") == (0, 8, 0, 0)
        assert counts(sessions, 200, "C", "T") == (2, 5, 2, 0)  # S2 half called
        # HG1 alone had a row; the joint file's samples now count as reference there
        assert counts(sessions, 30_300, "G", "A") == (2, 8, 1, 1)
        with sessions() as session:
            modes = dict(session.execute(select(BeaconCallset.name, BeaconCallset.mode)).all())
            assert modes == {
                "joint.vcf.gz": "joint", "HG1.vcf.gz": "absent_nocall",
                "HG2.vcf.gz": "absent_nocall",
            }  # fmt: skip
            terms = session.execute(select(BeaconVariantTerm.term)).scalars().all()
            assert sorted(terms) == ["GENE1", "GENE2"]  # on the one merged row
            rows = session.execute(select(BeaconVariant).where(BeaconVariant.carriers > 0))
            expected = Counter(
                (r.dataset_id, r.assembly, r.chrom, r.start // BIN_SIZE, r.variant_type)
                for r in rows.scalars()
            )
            bins = {
                (b.dataset_id, b.assembly, b.chrom, b.bin, b.variant_type): b.alleles
                for b in session.execute(select(BeaconVariantBin)).scalars()
            }
            assert bins == dict(expected) == {
                (DS, "GRCh38", "22", 0, "SNP"): 2, (DS, "GRCh38", "22", 3, "SNP"): 1,
            }  # fmt: skip
            spans = session.scalar(
                select(BeaconCallset.spans).where(BeaconCallset.name == "HG1.vcf.gz")
            )
            assert Spans.from_json(spans).by_contig == {"22": (99, 30_300)}  # migration 0011
        # the migrated data loads on as new data does: HG1 again is a re-analysis
        again = write_vcf(tmp_path / "HG1.b.vcf.gz", ["HG1"], [
            "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t1/1",
            "chr22\t30300\t.\tG\tA\t.\tPASS\t.\tGT\t0/1",
        ])  # fmt: skip
        ingest = partial(VcfIngestor(sessions).ingest, callability=NOCALL)
        with pytest.raises(ConflictError, match="HG1 already loaded"):
            ingest(again, DS)
        ingest(again, DS, update=True)  # replaces HG1.vcf.gz
        assert counts(sessions, 100, "A", "G") == (7, 8, 4, 3)
        assert counts(sessions, 30_300, "G", "A") == (1, 8, 1, 0)
