"""A VCF load never makes a serving node fail (issue #15, decision record 0014): a real
``gdi-node serve`` with two workers on the SQLite default answers Beacon, DRS and htsget
requests while a real ``gdi-node ingest vcf`` loads a synthetic cohort for several seconds in
another process. SQLite has one write lock per file; the load takes it one short step at a
time, so the workers' audit writers and query budgets get it in between.

Latencies are measured by tests/benchmarks/bench_ingest_while_serving.py, not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.ingest_while_serving import prepare, run, summary

pytestmark = pytest.mark.slow

# about 10 s of loading alone on a 2-core machine: longer than SQLite's 5 s busy timeout, so a
# load holding the write lock throughout made writers wait past it (500 "database is locked")
VARIANTS = 100_000
SAMPLES = 500


def test_while_a_vcf_loads_on_sqlite_every_answer_is_200_audited_and_the_callset_all_or_nothing(
    tmp_path: Path,
) -> None:
    prepared = prepare(tmp_path, None, variants=VARIANTS, samples=SAMPLES)
    report = run(prepared, clients=4, limit=5000)
    facts = summary(report)
    failed = [(a.kind, a.status, a.detail) for a in report.answers if a.status != 200]
    assert not failed, (facts, failed[:5])
    assert len(report.answers) >= 20, facts  # the requests overlapped the load
    # every decision is in the trail, written while the load ran (no batch failed meanwhile)
    assert report.verify_code == 0, report.verify_output
    assert "intact" in report.verify_output
    assert not report.unaudited(), facts
    assert "audit events failed" not in report.node_log
    assert "database is locked" not in report.node_log
    # the loaded dataset answered nothing of the load, or all of it: never part of it
    assert report.shown_total > 0
    assert report.totals_seen_while_loading() <= {0, report.shown_total}, facts
