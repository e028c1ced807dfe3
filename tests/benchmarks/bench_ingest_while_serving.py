"""Benchmark: answers of a serving node while ``gdi-node ingest vcf`` loads a cohort.

Run with ``scripts/bench ingest_while_serving``. A real ``gdi-node serve`` (two workers,
loopback) answers four client threads cycling through Beacon g_variants (a count of the
dataset being loaded, a count of every dataset, a record query), a DRS object and an htsget
ticket, while a real ``gdi-node ingest vcf`` loads a synthetic cohort (``beacon_cohort.py``;
``GDI_NODE_BENCH_LOAD_VARIANTS`` x ``GDI_NODE_BENCH_LOAD_SAMPLES``, default 60,000 x 500) in
another process (tests/ingest_while_serving.py). Prints the requests, errors by status,
p50/p99/max latency, the load's time, the counts of the loaded dataset seen meanwhile (0 or
the whole load: never part of it), requests missing from the audit trail and
``gdi-node audit verify``. SQLite by default; ``GDI_NODE_BENCH_LOAD_DATABASE_URL`` names a
PostgreSQL database instead. Exits non-zero on any answer that is not 200.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.bench_htsget import progress
from tests.support.ingest_while_serving import prepare, run, summary

VARIANTS = int(os.environ.get("GDI_NODE_BENCH_LOAD_VARIANTS", "60000"))
SAMPLES = int(os.environ.get("GDI_NODE_BENCH_LOAD_SAMPLES", "500"))
DATABASE_URL = os.environ.get("GDI_NODE_BENCH_LOAD_DATABASE_URL") or None


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        progress(f"preparing {VARIANTS:,} x {SAMPLES:,} cohort")
        prepared = prepare(Path(tmp), DATABASE_URL, variants=VARIANTS, samples=SAMPLES)
        progress("serving while it loads")
        report = run(prepared)
    facts = summary(report)
    print(json.dumps(facts, indent=2))
    return 1 if facts["errors"] or facts["unaudited"] else 0


if __name__ == "__main__":
    sys.exit(main())
