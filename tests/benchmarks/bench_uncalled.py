"""Benchmark: finding where genomes are not called at a position, as the genomes grow (issue
#18: an allele record at 60,000 genomes within 2x its time at 2,500).

Run with ``scripts/bench uncalled [--genomes 2500,60000] [--positions 300]``. Per genome count,
a fresh SQLite database gets gap pieces shaped like the frequency benchmark's gVCFs (36 gaps
per genome over 1 Mb, lengths log-uniform from 1 base to 2 kb: median ~45, mean ~260; the
cohort of ``frequency_cohort.py`` has median 18, mean 225), written with ``write_gaps``; then
``uncalled_at`` answers one position at a time. Printed: pieces stored, p50/p95 of a lookup,
the bits found per position, and the ratio of the p50s (largest / smallest genome count).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import sessionmaker

from gdi_node.beacon.store.uncalled import uncalled_at, write_gaps
from gdi_node.db.migrate import upgrade
from gdi_node.db.models import BeaconUncalled
from tests.benchmarks.bench_frequencies import machine

REGION = (20_000_000, 21_000_000)
GAPS_PER_GENOME = 36


def gaps_of(genomes: int, seed: int) -> list[tuple[str, int, int, int]]:
    rng = random.Random(seed)
    out = []
    for bit in range(genomes):
        starts = {rng.randrange(REGION[0], REGION[1] - 20_000) for _ in range(GAPS_PER_GENOME)}
        for start in sorted(starts):  # a genome's gaps may overlap; each starts once
            out.append(("22", start, start + int(10 ** rng.uniform(0, 3.3)), bit))
    return out


def measure(genomes: int, positions: int, folder: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{folder / f'gaps-{genomes}.sqlite3'}")
    event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA foreign_keys=OFF"))
    upgrade(engine)
    sessions = sessionmaker(engine)
    gaps = gaps_of(genomes, seed=genomes)
    with sessions() as session, session.begin():
        for low in range(0, len(gaps), 100_000):  # callset 1: no callset row, no foreign keys
            write_gaps(session, 1, "D", "GRCh38", gaps[low : low + 100_000])
    rng = random.Random(7)
    probes = [rng.randrange(*REGION) for _ in range(positions)]
    times, found = [], []
    with sessions() as session:
        pieces = session.scalar(select(func.count()).select_from(BeaconUncalled)) or 0
        for position in probes:
            began = time.perf_counter()
            held = uncalled_at(session, "D", "GRCh38", "22", [position])
            times.append(time.perf_counter() - began)
            found.append(len(held.get(position, ())))
    engine.dispose()
    times.sort()
    p50, p95 = statistics.median(times) * 1e3, times[int(len(times) * 0.95)] * 1e3
    return [
        f"{genomes:,}",
        f"{pieces:,}",
        f"{p50:.2f}",
        f"{p95:.2f}",
        f"{statistics.mean(found):.0f}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench uncalled")
    parser.add_argument("--genomes", default="2500,60000")
    parser.add_argument("--positions", type=int, default=300)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.genomes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(n, args.positions, Path(folder)) for n in counts]
    headings = ["genomes", "gap pieces", "lookup p50 ms", "p95 ms", "bits uncalled at p"]
    print(f"\nGap lookups (uncalled_at, one position), SQLite; {machine()}")
    print("| " + " | ".join(headings) + " |")
    print("|" + "|".join("---" for _ in headings) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    ratio = float(rows[-1][2]) / float(rows[0][2])
    print(f"p50 ratio {counts[-1]:,} / {counts[0]:,}: {ratio:.2f} (goal <= 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
