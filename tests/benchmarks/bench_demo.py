"""Benchmark: how long ``gdi-node demo`` takes to generate its synthetic data set.

Run with ``scripts/bench demo`` (or ``python -m tests.benchmarks.bench_demo``). Generates the
demo data (reference FASTA, BAM, CRAM, VCF.gz and BCF with their indexes) into a fresh folder
three times and prints the minimum, median and maximum. Goal: the median under 5 s on 2 cores,
so a newcomer's demo is up quickly (this replaced a timed unit test).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from gdi_node.demo.synthetic import generate_demo_data

RUNS = 3
GOAL_SECONDS = 5.0


def main() -> None:
    seconds = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="gdi-demo-bench-") as folder:
            started = time.perf_counter()
            generate_demo_data(Path(folder))
            seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print("| case                           | min s | median s | max s | goal       |")
    print("|--------------------------------|-------|----------|-------|------------|")
    print(
        f"| demo data generation, {RUNS} runs  | {min(seconds):5.2f} | {median:8.2f} |"
        f" {max(seconds):5.2f} | median < {GOAL_SECONDS:.0f} s |"
    )
    print(f"goal {'met' if median < GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
