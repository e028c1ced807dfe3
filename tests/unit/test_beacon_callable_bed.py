"""A callable-regions BED says where a single-sample VCF's sample is called (decision record
0024): inside its intervals a site without a record is reference, outside them the sample is
not called, its own records there included. The BED's complement is stored as gap pieces, goes
with its file, and bad input is refused in one line before anything is written. SQLite and
PostgreSQL where the database is involved."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.callable_bed import read_callable_bed, uncalled_outside
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.ingest.withdraw import withdraw
from gdi_node.beacon.model.assemblies import known_assemblies
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.store.uncalled import PIECE
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconCallset, BeaconUncalled
from gdi_node.errors import ConflictError, InvalidInputError
from tests.support.beacon_data import allele_counts, write_vcf
from tests.unit.test_beacon_cli import run

DS = "DS-PUBLIC"
GRCH38 = known_assemblies().get("GRCh38")
CHR22 = 50_818_468  # its length in GRCh38
CARRIER = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t{}"  # 0-based position 99


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def bed(tmp: Path, text: str, name: str = "S1.bed") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def single(tmp: Path, *records: str, name: str = "S1") -> Path:
    """A single-sample VCF (a record elsewhere on chr22 when none is given)."""
    lines = list(records) or ["chr22\t5000\t.\tC\tT\t.\tPASS\t.\tGT\t0/1"]
    return write_vcf(tmp / f"{name}.vcf.gz", [name], lines)


def load(sessions: sessionmaker[Session], vcf: Path, regions: Path, **options: Any) -> Any:
    callability = Callability(callable_bed=regions)
    return VcfIngestor(sessions).ingest(vcf, DS, callability=callability, **options)


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    found = allele_counts(sessions, AlleleKey("GRCh38", "22", 99, "A", "G"), DS)
    return found.allele_count, found.allele_number


def joint_carriers(sessions: sessionmaker[Session], tmp: Path) -> None:
    """Two carriers of chr22:100 A>G in a joint file (AC 2, AN 4 from it)."""
    joint = write_vcf(tmp / "joint.vcf.gz", ["J1", "J2"], [CARRIER.format("0/1\t0/1")])
    VcfIngestor(sessions).ingest(joint, DS)


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ("chr22\t0\t1000\n", 6),  # inside, no record there: reference
        ("chr22\t99\t100\n", 6),  # exactly the site (0-based, half-open)
        ("chr22\t0\t99\n", 4),  # ends just before it: not called
        ("chr22\t100\t1000\n", 4),  # starts just after it
        ("chr22\t4000\t6000\nchr21\t0\t1000\n", 4),  # elsewhere only
    ],
)
def test_inside_the_bed_absent_is_reference_and_outside_it_the_sample_is_not_called(
    sessions: sessionmaker[Session], tmp_path: Path, intervals: str, expected: int
) -> None:
    joint_carriers(sessions, tmp_path)
    result = load(sessions, single(tmp_path), bed(tmp_path, intervals))
    with sessions() as session:
        mode = session.scalar(select(BeaconCallset.mode).where(BeaconCallset.name == "S1.vcf.gz"))
    assert (result.status, mode) == ("loaded", "callable_bed")
    assert counts(sessions) == (2, expected)


@pytest.mark.parametrize(
    ("intervals", "expected"), [("chr22\t0\t1000\n", (4, 6)), ("chr22\t0\t99\n", (2, 4))]
)
def test_a_record_of_the_sample_outside_its_bed_does_not_count(
    sessions: sessionmaker[Session], tmp_path: Path, intervals: str, expected: tuple[int, int]
) -> None:
    joint_carriers(sessions, tmp_path)
    load(sessions, single(tmp_path, CARRIER.format("1/1")), bed(tmp_path, intervals))
    assert counts(sessions) == expected


def test_a_bed_is_read_plain_or_gzipped_unsorted_and_overlapping_with_any_contig_spelling(
    tmp_path: Path,
) -> None:
    assert GRCH38 is not None
    text = (
        "# callable\ntrack name=callable\nbrowser hide all\n\n"
        "22 500 600 CALLABLE 0 +\nchr22\t100\t200\nNC_000022.11 150 300\nchr22 300 310\n"
        "chrX 10 20\nchr22 700 700\n"  # touching intervals join; a zero-length one is nothing
    )
    plain = bed(tmp_path, text)
    packed = tmp_path / "S1.bed.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        regions = read_callable_bed(path, GRCH38)
        assert list(regions.intervals("22")) == [(100, 310), (500, 600)]
        assert list(regions.intervals("X")) == [(10, 20)]
        assert [regions.holds("22", p) for p in (99, 100, 309, 310, 499, 599, 600)] == [
            False, True, True, False, False, True, False,
        ]  # fmt: skip
    assert read_callable_bed(plain, GRCH38).sha256 != read_callable_bed(packed, GRCH38).sha256


def test_the_gaps_are_the_beds_complement_over_each_contig_the_vcf_has_records_on(
    tmp_path: Path,
) -> None:
    assert GRCH38 is not None
    regions = read_callable_bed(bed(tmp_path, "chr22 100 200\nchr22 300 400\nchrX 0 50\n"), GRCH38)
    # records on 22 and on a contig the assembly does not know (no length: up to its span's end)
    spans = {"22": (150, 160), "chrUn_KI270742v1": (10, 900)}
    assert uncalled_outside(regions, spans, GRCH38) == [
        ("22", 0, 100), ("22", 200, 300), ("22", 400, CHR22), ("chrUn_KI270742v1", 0, 900),
    ]  # fmt: skip
    whole = read_callable_bed(bed(tmp_path, f"chr22 0 {CHR22}\n", "whole.bed"), GRCH38)
    assert uncalled_outside(whole, {"22": (0, 10)}, GRCH38) == []


def pieces(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(BeaconUncalled)) or 0)


def test_the_gaps_are_stored_as_pieces_and_go_with_their_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    joint_carriers(sessions, tmp_path)
    load(sessions, single(tmp_path), bed(tmp_path, f"chr22\t0\t99\nchr22\t100\t{CHR22}\n"))
    assert pieces(sessions) == 1  # one base: one piece, not one row per site
    assert counts(sessions) == (2, 4)
    # a re-analysis with a BED covering the site: answered at once, the old gaps gone
    again = bed(tmp_path, f"chr22\t0\t{CHR22 - 25_000}\n", "again.bed")
    assert load(sessions, single(tmp_path), again, update=True).status == "replaced"
    assert counts(sessions) == (2, 6)
    assert pieces(sessions) == -(-25_000 // PIECE)  # the contig's last 25 kb, in 10 kb pieces
    withdraw(sessions, DS, biosample_id="S1")
    assert counts(sessions) == (2, 4)
    assert pieces(sessions) == 0


def test_the_same_vcf_with_another_bed_is_other_content(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    vcf = single(tmp_path)
    assert load(sessions, vcf, bed(tmp_path, "chr22\t0\t1000\n")).status == "loaded"
    assert load(sessions, vcf, bed(tmp_path, "chr22\t0\t1000\n")).status == "unchanged"
    with pytest.raises(ConflictError, match="pass --update to replace it"):
        load(sessions, vcf, bed(tmp_path, "chr22\t0\t2000\n"))
    with pytest.raises(ConflictError, match="pass --update to replace it"):
        VcfIngestor(sessions).ingest(vcf, DS, callability=Callability(absent="ref"))


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("chr22\t0\t100\nchr22\t100\n", 2, "expected chrom, start and end"),
        ("# header\nchr22\tone\t100\n", 2, "whole numbers"),
        ("chr22\t-5\t100\n", 1, "whole numbers"),
        ("chr22\t200\t100\n", 1, "end 100 is before start 200"),
        ("chr22\t0\t100\nchrZ\t0\t100\n", 2, "no sequence 'chrZ'"),
        (f"chr22\t0\t{CHR22 + 1}\n", 1, "past the end of chr22"),
        ("chr22\t0\t100\tNO_COVERAGE\n", 1, "keep only the CALLABLE lines"),
    ],
)
def test_a_bad_bed_line_is_refused_naming_file_and_line_and_nothing_is_written(
    sessions: sessionmaker[Session], tmp_path: Path, text: str, line: int, says: str
) -> None:
    path = bed(tmp_path, text)
    with pytest.raises(InvalidInputError) as refused:
        load(sessions, single(tmp_path), path)
    assert refused.value.message.startswith(f"{path}:{line}: ")
    assert says in refused.value.message
    assert "\n" not in refused.value.message
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(BeaconCallset)) == 0


def test_a_missing_or_unreadable_bed_is_refused_naming_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.bed"
    with pytest.raises(InvalidInputError, match=f"^{missing}: no such callable-regions BED$"):
        load(sessions, single(tmp_path), missing)
    binary = tmp_path / "binary.bed"
    binary.write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(InvalidInputError, match=f"^{binary}: not a plain or gzipped text BED"):
        load(sessions, single(tmp_path), binary)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(BeaconCallset)) == 0


GVCF_BLOCK = "chr22\t50\t.\tN\t<NON_REF>\t.\t.\tEND=150\tGT\t0/0"


@pytest.mark.parametrize(
    ("samples", "records", "absent", "says"),
    [
        (["S1"], [CARRIER.format("0/1")], "ref", "give --callable-bed or --absent, not both"),
        (["S1"], [CARRIER.format("0/1")], "nocall", "give --callable-bed or --absent, not both"),
        (["S1", "S2"], [CARRIER.format("0/1\t0/0")], None, "has 2 samples"),
        (["S1"], [GVCF_BLOCK], None, "has reference blocks"),
    ],
)
def test_contradictory_statements_are_refused_in_one_line(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    samples: list[str],
    records: list[str],
    absent: str | None,
    says: str,
) -> None:
    headers = ['##ALT=<ID=NON_REF,Description="Any other allele">']
    vcf = write_vcf(tmp_path / "file.vcf.gz", samples, records, headers=headers)
    callability = Callability(absent=absent, callable_bed=bed(tmp_path, "chr22\t0\t1000\n"))
    with pytest.raises(InvalidInputError, match=says) as refused:
        VcfIngestor(sessions).ingest(vcf, DS, callability=callability)
    assert "\n" not in refused.value.message


@pytest.fixture
def config_file(tmp_path: Path, make_settings: Callable[..., Settings]) -> Path:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    return path


def test_ingest_vcf_takes_a_callable_bed_for_one_file_and_refuses_it_for_several(
    config_file: Path, tmp_path: Path
) -> None:
    regions = bed(tmp_path, "chr22\t0\t10000\n")
    one, two = single(tmp_path, name="S1"), single(tmp_path, name="S2")
    command = ["-c", str(config_file), "ingest", "vcf", "--dataset", DS]
    code, out, err = run(*command, str(one), "--callable-bed", str(regions))
    assert code == 0, out + err
    assert "loaded S1.vcf.gz into DS-PUBLIC" in out
    code, out, err = run(*command, str(one), str(two), "--callable-bed", str(regions))
    assert code == 1
    assert "give each file its own in a callable_bed column of --manifest" in err
    code, out, err = run(*command, str(two), "--callable-bed", str(tmp_path / "none.bed"))
    assert code == 1
    assert err.strip().endswith(f"{tmp_path / 'none.bed'}: no such callable-regions BED")
