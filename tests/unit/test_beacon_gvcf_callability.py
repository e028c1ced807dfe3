"""A gVCF says where its sample is called (decision record 0021): in a reference block or a
call with GQ >= --min-gq and depth (MIN_DP, else DP) >= --min-dp, within the file's span. The
gaps are stored compactly (never per sample per site), count only while the file is shown,
and go with it when it is re-analysed or withdrawn. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.ingest.withdraw import withdraw
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconCallset, BeaconUncalled
from tests.support.beacon_data import allele_counts, write_vcf

DS = "DS-PUBLIC"
HEADERS = [
    '##ALT=<ID=NON_REF,Description="Any other allele">',
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum depth in the block">',
]
CARRIER = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t{}"  # a plain multi-sample file's site


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def block(start: int, end: int, quality: int = 40, depth: str = "MIN_DP", value: int = 25) -> str:
    return f"chr22\t{start}\t.\tN\t<NON_REF>\t.\t.\tEND={end}\tGT:GQ:{depth}\t0/0:{quality}:{value}"


def gvcf(tmp: Path, name: str, *records: str) -> Path:
    return write_vcf(tmp / f"{name}.g.vcf.gz", [name], list(records), headers=HEADERS)


def number(sessions: sessionmaker[Session], pos: int = 100) -> tuple[int, int]:
    found = allele_counts(sessions, AlleleKey("GRCh38", "22", pos - 1, "A", "G"), DS)
    return found.allele_count, found.allele_number


def carriers_file(tmp: Path) -> Path:
    """Two carriers of chr22:100 A>G in a joint file (AN 4 from it)."""
    return write_vcf(tmp / "joint.vcf.gz", ["J1", "J2"], [CARRIER.format("0/1\t0/1")])


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ((block(50, 150),), 6),  # a good block: called reference
        ((block(50, 150, quality=5),), 4),  # GQ under 20
        ((block(50, 150, value=3),), 4),  # MIN_DP under 10
        ((block(50, 150, depth="DP", value=3),), 4),  # no MIN_DP: DP decides
        ((block(50, 99), block(101, 150)), 4),  # no block at 100
        ((block(101, 150),), 4),  # before the file's span: it speaks for nobody there
    ],
)
def test_a_gvcf_counts_where_its_blocks_pass_the_thresholds(
    sessions: sessionmaker[Session], tmp_path: Path, records: tuple[str, ...], expected: int
) -> None:
    VcfIngestor(sessions).ingest(carriers_file(tmp_path), DS)
    result = VcfIngestor(sessions).ingest(gvcf(tmp_path, "G1", *records), DS)
    with sessions() as session:
        mode = session.scalar(select(BeaconCallset.mode).where(BeaconCallset.name == "G1.g.vcf.gz"))
    assert (result.status, mode) == ("loaded", "gvcf")
    assert number(sessions) == (2, expected)


def test_thresholds_are_stated_per_load(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    VcfIngestor(sessions).ingest(carriers_file(tmp_path), DS)
    lenient = Callability(min_gq=5, min_dp=3)
    VcfIngestor(sessions).ingest(
        gvcf(tmp_path, "G1", block(50, 150, 5, value=3)), DS, callability=lenient
    )
    assert number(sessions) == (2, 6)


def test_a_low_quality_call_is_not_called_and_a_good_one_counts(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    VcfIngestor(sessions).ingest(carriers_file(tmp_path), DS)
    low = "chr22\t100\t.\tA\tG,<NON_REF>\t.\t.\t.\tGT:GQ:DP\t1/1:5:30"
    good = "chr22\t100\t.\tA\tG,<NON_REF>\t.\t.\t.\tGT:GQ:DP\t1/1:60:30"
    VcfIngestor(sessions).ingest(gvcf(tmp_path, "G1", block(50, 99), low, block(101, 150)), DS)
    VcfIngestor(sessions).ingest(gvcf(tmp_path, "G2", block(50, 99), good, block(101, 150)), DS)
    assert number(sessions) == (4, 6)  # G1 uncalled; G2 homozygous


def test_gaps_are_intervals_and_go_with_their_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    VcfIngestor(sessions).ingest(carriers_file(tmp_path), DS)
    # a 30 kb stretch without blocks: pieces of at most 10 kb, not one row per site
    path = gvcf(tmp_path, "G1", block(50, 60), block(30_061, 30_100))
    VcfIngestor(sessions).ingest(path, DS)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(BeaconUncalled)) == 3
    assert number(sessions) == (2, 4)
    # a re-analysis covers the site: answered at once, the old gaps gone with the old file
    again = gvcf(tmp_path, "G1", block(50, 30_100))
    assert VcfIngestor(sessions).ingest(again, DS, update=True).status == "replaced"
    assert number(sessions) == (2, 6)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(BeaconUncalled)) == 0
    withdraw(sessions, DS, biosample_id="G1")
    assert number(sessions) == (2, 4)
