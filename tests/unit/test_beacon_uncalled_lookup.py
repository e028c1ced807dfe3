"""The pieces of gaps holding a position are found by size class (migration 0015): the lookup
answers exactly what scanning every piece would, for pieces of every length (1 base to the
10 kb cut, gaps longer than that), at their edges and between; and a database migrated from
0014 and back keeps its pieces and answers the same. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from pyroaring import BitMap
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.store.uncalled import PIECE, size_class, uncalled_at, write_gaps
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.migrate import alembic_config, upgrade
from gdi_node.db.models import BeaconUncalled
from tests.support.beacon_data import write_vcf

DS = "DS-PUBLIC"


@pytest.fixture
def sessions(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Any]:
    with migrated_sessions(make_settings(database_url=database_url)) as opened:
        yield opened


def a_callset(sessions: sessionmaker[Session], tmp: Path) -> int:
    """A loaded file whose callset the random pieces hang on."""
    path = write_vcf(tmp / "one.vcf.gz", ["S1"], ["chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1"])
    return VcfIngestor(sessions).ingest(path, DS, callability=Callability(absent="ref")).callset_id


def stored_gaps(
    sessions: sessionmaker[Session], tmp: Path, seed: int, count: int
) -> list[tuple[str, int, int, int]]:
    """``random_gaps(seed, count)``, written on a loaded file's callset."""
    callset = a_callset(sessions, tmp)
    gaps = random_gaps(seed, count)
    with sessions() as session, session.begin():
        write_gaps(session, callset, DS, "GRCh38", gaps)
    return gaps


def random_gaps(seed: int, count: int = 400) -> list[tuple[str, int, int, int]]:
    """Gaps of log-uniform length from 1 base to 2.5 times the cut, on two contigs."""
    rng = random.Random(seed)
    gaps = []
    for bit in range(count):
        length = int(10 ** rng.uniform(0, 4.4))
        start = rng.randrange(0, 200_000)
        gaps.append((rng.choice(["22", "X"]), start, start + length, bit))
    return gaps


def by_scanning_every_piece(
    session: Session, chrom: str, positions: list[int]
) -> dict[int, BitMap]:
    table = BeaconUncalled.__table__
    rows = session.execute(
        select(table.c.start, table.c.end, table.c.bit_no).where(table.c.chrom == chrom)
    ).all()
    out = {}
    for position in positions:
        held = BitMap(int(b) for s, e, b in rows if s <= position < e)
        if held:
            out[position] = held
    return out


def probes(gaps: list[tuple[str, int, int, int]], chrom: str, seed: int) -> list[int]:
    """Every gap's edges and the bases beside them, and random positions."""
    rng = random.Random(seed)
    edges = {p for c, s, e, _ in gaps if c == chrom for p in (s - 1, s, e - 1, e, s + PIECE)}
    return sorted({p for p in edges if p >= 0} | {rng.randrange(0, 230_000) for _ in range(500)})


def test_pieces_holding_a_position_are_found_by_size_class_as_by_scanning_them_all(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    callset = a_callset(sessions, tmp_path)
    gaps = random_gaps(seed=15)
    with sessions() as session, session.begin():
        written = write_gaps(session, callset, DS, "GRCh38", gaps)
    assert written > len(gaps)  # gaps longer than the cut were cut into pieces
    with sessions() as session:
        classes = set(session.scalars(select(BeaconUncalled.size_class).distinct()))
        assert len(classes) >= 12  # pieces of (nearly) every size class
        for chrom in ("22", "X"):
            positions = probes(gaps, chrom, seed=16)
            found = uncalled_at(session, DS, "GRCh38", chrom, positions)
            assert found == by_scanning_every_piece(session, chrom, positions)
            assert found  # the probes hit gaps: the comparison compares


def test_one_position_asked_alone_gets_the_bits_of_the_pieces_holding_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    gaps = stored_gaps(sessions, tmp_path, seed=19, count=300)
    with sessions() as session:
        positions = probes(gaps, "22", seed=20)
        expected = by_scanning_every_piece(session, "22", positions)
        alone = {}
        for position in positions:  # the allele record's lookup: one row per position
            alone.update(uncalled_at(session, DS, "GRCh38", "22", [position]))
        assert alone == expected
        assert sum(len(bits) > 1 for bits in alone.values()) > 20  # several bits joined
        assert uncalled_at(session, DS, "GRCh38", "X", [positions[0]]).keys() <= {positions[0]}
        assert uncalled_at(session, "OTHER", "GRCh38", "22", [positions[0]]) == {}


def test_a_size_class_is_the_smallest_power_of_two_holding_the_length() -> None:
    assert [size_class(n) for n in (1, 2, 3, 4, 5, 8, 9, 10_000)] == [0, 1, 2, 2, 3, 3, 4, 14]


def test_pieces_survive_the_migration_to_size_classes_and_back(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    gaps = stored_gaps(sessions, tmp_path, seed=17, count=100)
    positions = probes(gaps, "22", seed=18)
    with sessions() as session:
        before = uncalled_at(session, DS, "GRCh38", "22", positions)
        pieces = session.scalar(select(func.count()).select_from(BeaconUncalled))
    engine = sessions.kw["bind"]
    assert isinstance(engine, Engine)
    command.downgrade(alembic_config(engine), "0014")
    upgrade(engine)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(BeaconUncalled)) == pieces
        assert uncalled_at(session, DS, "GRCh38", "22", positions) == before
        assert before
