"""Benchmark: the frequency benchmark's queries again, on databases it kept (issue #18).

Run with ``scripts/bench kept --rounds 3 [--seconds 10] NODE.YAML [NODE.YAML ...]`` (an option
first: ``scripts/bench`` takes the words before it as benchmark names), each
file a ``node.yaml`` that ``scripts/bench frequencies --keep`` left (``run-*/BACKEND/
per-genome/node.yaml``). Per round, each database in turn is served by ``gdi-node serve`` (2
workers) and asked by ``wrk -t1 -c1`` the 1 Mb count and the 300 allele records the frequency
benchmark asks (alleles carried among the first 2,500 genomes, the same seed): a change to the
query code is measured on a 2,500- and a 60,000-genome database without loading them again,
interleaved so that the machine's drift falls on both. Printed: p50/p95 per round and the
ratio of the median p50s (last database / first).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from tests.benchmarks import frequency_cohort as fc
from tests.benchmarks.bench_frequencies import (
    ALLELE_PATHS,
    DATA,
    Latency,
    allele_paths,
    machine,
    node_env,
    region_path,
    wrk_latency,
)
from tests.support.processes import running_node

PRESENT_BY = 2_500  # the frequency benchmark's first query measurement
COHORT = 60_005  # genomes of its national run (60,000 and the five added one at a time)


def benchmark_paths(seed: int = fc.SEED) -> list[str]:
    """The frequency benchmark's allele-record paths for its national run."""
    catalogue = fc.catalogue_for(seed, fc.Shape())
    cohort = fc.Cohort(DATA / f"cohort-{fc.VERSION}-{seed}", COHORT, seed, fc.Shape(), fc.CHUNK)
    first = fc.first_carrier(cohort, COHORT, catalogue)
    present = np.flatnonzero(first < PRESENT_BY).tolist()
    rng = random.Random(seed)
    return allele_paths(catalogue, rng.sample(present, min(ALLELE_PATHS, len(present))))


def measure(config: Path, paths: list[str], seconds: int, work: Path) -> tuple[Latency, Latency]:
    """(1 Mb count, allele record) latencies of the node ``config`` describes."""
    port = int(yaml.safe_load(config.read_text(encoding="utf-8"))["server"]["port"])
    args = ["--config", str(config), "serve", "--no-migrate"]
    with running_node(args, port, work, env=node_env()) as node:
        wrk_latency(node.base_url, [region_path(), *paths[:20]], 2, work)  # warm up
        region = wrk_latency(node.base_url, [region_path()], seconds, work)
        allele = wrk_latency(node.base_url, paths, seconds, work)
    return region, allele


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench kept", description=__doc__)
    parser.add_argument("configs", nargs="*", type=Path, help="node.yaml files kept by --keep")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args(argv)
    if not args.configs:
        print("bench kept: no kept databases named (scripts/bench kept NODE.YAML ...); skipped")
        return 0
    paths = benchmark_paths()
    work = Path(tempfile.mkdtemp(prefix="gdi-node-bench-kept-"))
    p50s: dict[Path, list[float]] = {config: [] for config in args.configs}
    print(f"machine: {machine()}")
    print("| round | database | 1 Mb count | allele record |")
    print("| --- | --- | --- | --- |")
    for round_no in range(1, args.rounds + 1):
        for config in args.configs:
            region, allele = measure(config, paths, args.seconds, work)
            p50s[config].append(allele.p50_ms)
            print(f"| {round_no} | {config} | {_cell(region)} | {_cell(allele)} |", flush=True)
    first, last = (statistics.median(p50s[c]) for c in (args.configs[0], args.configs[-1]))
    print(f"allele record median p50: {first:.2f} ms -> {last:.2f} ms, ratio {last / first:.2f}")
    return 0


def _cell(latency: Latency) -> str:
    bad = f", {latency.failed} failed" if latency.failed else ""
    return f"p50 {latency.p50_ms:.2f} ms, p95 {latency.p95_ms:.1f} ms ({latency.requests:,}){bad}"


if __name__ == "__main__":
    raise SystemExit(main())
