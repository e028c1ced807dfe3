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
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.benchmarks import frequency_cohort as fc
from tests.benchmarks.bench_frequencies import (
    machine,
    probed_paths,
    serving,
    timed_queries,
)

PRESENT_BY = 2_500  # the frequency benchmark's first query measurement
COHORT = 60_005  # genomes of its national run (60,000 and the five added one at a time)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench kept", description=__doc__)
    parser.add_argument("configs", nargs="*", type=Path, help="node.yaml files kept by --keep")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args(argv)
    if not args.configs:
        print("bench kept: no kept databases named (scripts/bench kept NODE.YAML ...); skipped")
        return 0
    catalogue = fc.catalogue_for(fc.SEED, fc.Shape())
    cohort = fc.Cohort(fc.default_folder(), COHORT, fc.SEED, fc.Shape(), fc.CHUNK)
    carried_from = fc.first_carrier(cohort, COHORT, catalogue)
    paths = probed_paths(carried_from, catalogue, PRESENT_BY, fc.SEED)
    work = Path(tempfile.mkdtemp(prefix="gdi-node-bench-kept-"))
    p50s: dict[Path, list[float]] = {config: [] for config in args.configs}
    print(f"machine: {machine()}")
    print("| round | database | 1 Mb count | allele record |")
    print("| --- | --- | --- | --- |")
    for round_no in range(1, args.rounds + 1):
        for config in args.configs:
            with serving(config, work) as node:
                region, allele = timed_queries(node.base_url, paths, args.seconds, work)
            p50s[config].append(allele.p50_ms)
            cells = (f"{x.cell(digits=2)} ({x.requests:,})" for x in (region, allele))
            print(f"| {round_no} | {config} | {' | '.join(cells)} |", flush=True)
    first, last = (statistics.median(p50s[c]) for c in (args.configs[0], args.configs[-1]))
    print(f"allele record median p50: {first:.2f} ms -> {last:.2f} ms, ratio {last / first:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
