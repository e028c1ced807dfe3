"""Benchmark: Beacon ingest rate, database size per variant, and query latency/throughput.

Run with ``scripts/bench beacon`` (or ``python -m tests.benchmarks.bench_beacon``). Needs
``wrk``, ``bcftools`` and PostgreSQL server binaries (Debian ``postgresql``).

* Ingest of the 1000 Genomes chr22 test file (``../shared``): records/s and genotypes/s.
* A synthetic cohort (``beacon_cohort.py``; default 5,000,000 variants x 2,500 samples, set
  ``GDI_NODE_BENCH_BEACON_VARIANTS``/``_SAMPLES``), generated once as a BCF into
  ``$GDI_NODE_BENCH_CACHE`` and loaded once into SQLite and into PostgreSQL (a server kept in
  the cache folder); the load's records/s, genotypes/s and the database size per variant are
  kept with it and reported on later runs.
* Queries on that set through ``gdi-node serve`` (2 workers, loopback, anonymous caller on a
  PUBLIC dataset), with wrk at 1 and 16 connections: allele (sequence query, count), range of
  1 Mb (count and record), gene (count), a filtered count query (1 Mb range, INDEL only), and
  the 1 Mb range count again with 1 % of the cohort opted out of research use.
  Goals from the issue: range query p50 <= 13 ms and >= 670 requests/s (10x the anchor).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import normalise_url
from tests.benchmarks.beacon_cohort import generate_cohort
from tests.benchmarks.bench_htsget import _WRK_SCRIPT, CACHE, cells, print_table, progress, run_wrk
from tests.support.processes import free_port, running_node

VARIANTS = int(os.environ.get("GDI_NODE_BENCH_BEACON_VARIANTS", "5000000"))
SAMPLES = int(os.environ.get("GDI_NODE_BENCH_BEACON_SAMPLES", "2500"))
VERSION = "v1"  # change when the generator or the schema changes
WRK_SECONDS = 10
PATHS_PER_CASE = 300
REGION = 1_000_000
OPTED_OUT = 25  # 1 % of the synthetic cohort
OPTED_OUT_CASE = f"range 1 Mb, count, {OPTED_OUT} opted out"
SEED = 20261122
BEACON = "/ga4gh/beacon/v2"
ROOT = Path(__file__).resolve().parents[2]
THOUSAND_GENOMES = ROOT.parent / "shared" / "data" / "vcf" / "test_1000G_hg38.vcf.gz"


def settings_for(data_dir: Path, database_url: str | None) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": data_dir,
            "database_url": database_url,
            "datasets": [
                {"id": "NATIONAL", "name": "Synthetic cohort", "security_level": "PUBLIC"}
            ],
            "logging": {"level": "WARNING", "format": "json"},
            # all load comes from one address: a budget large enough never to refuse, so its
            # accounting is measured but wrk is not turned away (bench_membership measures it)
            "beacon": {"budget": {"units": 10**15}},
        }
    )


def sample_sheet(path: Path) -> Path:
    populations = ("EUR", "AFR", "EAS", "SAS", "AMR")
    lines = ["sample\tpopulation\tcohorts\tsex"]
    for n in range(SAMPLES):
        cohorts = ",".join(c for c, every in (("rare-disease", 3), ("cancer", 7)) if n % every == 0)
        lines.append(f"S{n:05d}\t{populations[n % 5]}\t{cohorts}\t{('female', 'male')[n % 2]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest(settings: Settings, path: Path, sheet: Path | None = None) -> dict[str, float]:
    with migrated_sessions(settings) as sessions:
        result = VcfIngestor(sessions).ingest(path, "NATIONAL", sample_sheet=sheet)
    return {
        "records": result.records,
        "alleles": result.alleles,
        "samples": result.samples,
        "seconds": result.seconds,
        "records_per_s": result.records / result.seconds,
        "genotypes_per_s": result.genotypes / result.seconds,
    }


def thousand_genomes_row() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-beacon-") as tmp:
        facts = ingest(settings_for(Path(tmp), None), THOUSAND_GENOMES)
    return cells(
        f"ingest 1000G chr22 ({facts['records']:.0f} x {facts['samples']:.0f}), SQLite",
        1,
        f"{facts['records_per_s']:,.0f} rec/s, {facts['genotypes_per_s'] / 1e6:.1f} M gt/s",
        "",
        "",
        "",
    )


# --- the cached synthetic databases -----------------------------------------------------------


def _database_size(settings: Settings) -> int:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        size = int(
            connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        )
    engine.dispose()
    return size


def loaded(kind: str, cohort: Path) -> tuple[Settings, dict[str, Any]]:
    """The synthetic cohort loaded into a cached database (loading it first if needed)."""
    folder = CACHE / f"beacon-{kind}-{VERSION}-{VARIANTS}x{SAMPLES}"
    facts_file = folder / "facts.json"
    fresh = not facts_file.exists()
    database_url = postgres_url(fresh=fresh) if kind == "postgresql" else None
    settings = settings_for(folder / "data", database_url)
    if not fresh:  # loaded by an earlier revision of the node: bring its schema up to date
        with migrated_sessions(settings):
            pass
        return settings, json.loads(facts_file.read_text(encoding="utf-8"))
    if database_url is None:
        shutil.rmtree(folder / "data", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    progress(f"loading {cohort.name} into {kind} (once; kept in {folder})")
    facts = ingest(settings, cohort, sample_sheet(folder / "samples.tsv"))
    facts["bytes"] = _database_size(settings)
    facts_file.write_text(json.dumps(facts), encoding="utf-8")
    return settings, facts


def postgres_url(*, fresh: bool) -> str:
    """A database on a PostgreSQL server whose data folder lives in the cache (started if
    needed); ``fresh`` drops what an earlier, unfinished load left."""
    given = os.environ.get("GDI_NODE_BENCH_POSTGRES_URL")
    if given:
        return given
    folder = CACHE / "beacon-postgres"
    port_file = CACHE / "beacon-postgres.port"
    port = port_file.read_text().strip() if port_file.exists() else str(free_port())
    port_file.write_text(port)
    status = subprocess.run(
        [str(ROOT / "scripts" / "test-postgres"), "start", str(folder)],
        capture_output=True,
        text=True,
        env={**os.environ, "GDI_NODE_TEST_POSTGRES_PORT": port},
        check=False,
    )
    if status.returncode != 0 and "already" not in status.stderr + status.stdout:
        log = folder / "server.log"
        if not log.exists() or "ready to accept" not in log.read_text():
            raise RuntimeError(f"PostgreSQL did not start: {status.stderr}")
    base = f"postgresql://gdi@127.0.0.1:{port}/postgres"
    name = f"bench_beacon_{VERSION}_{VARIANTS}x{SAMPLES}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if fresh:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://gdi@127.0.0.1:{port}/{name}"


def ingest_row(kind: str, facts: dict[str, Any]) -> str:
    per_variant = facts["bytes"] / facts["alleles"]
    return cells(
        f"ingest synthetic ({facts['records']:,.0f} x {facts['samples']:.0f}), {kind}",
        1,
        f"{facts['records_per_s']:,.0f} rec/s, {facts['genotypes_per_s'] / 1e6:.1f} M gt/s",
        f"{facts['seconds'] / 60:.1f} min",
        f"{per_variant:.0f} B/var",
        "",
    )


# --- queries ------------------------------------------------------------------------------------


def query_paths(settings: Settings) -> dict[str, list[str]]:
    rng = random.Random(SEED)
    engine = create_engine(normalise_url(settings.effective_database_url))
    with engine.connect() as connection:
        top = int(connection.execute(text("SELECT max(id) FROM beacon_variants")).scalar_one())
        alleles: list[Sequence[Any]] = []
        while len(alleles) < PATHS_PER_CASE:
            row = connection.execute(
                text("SELECT chrom, start, alt FROM beacon_variants WHERE id = :i"),
                {"i": rng.randint(1, top)},
            ).first()
            if row is not None:
                alleles.append(row)
        spans = connection.execute(
            text("SELECT chrom, min(start), max(start) FROM beacon_variants GROUP BY chrom")
        ).all()
        genes = [r[0] for r in connection.execute(
            text("SELECT DISTINCT term FROM beacon_variant_terms WHERE kind = 'gene'")
        )]  # fmt: skip
    engine.dispose()
    regions = []
    for _ in range(PATHS_PER_CASE):
        chrom, low, high = rng.choice(spans)
        start = rng.randint(int(low), max(int(low), int(high) - REGION))
        regions.append(f"referenceName={chrom}&start={start}&end={start + REGION}")
    return {
        "allele (sequence query), count": [
            f"{BEACON}/g_variants?referenceName={c}&start={s}&alternateBases={a}"
            "&requestedGranularity=count"
            for c, s, a in alleles
        ],
        "range 1 Mb, count": [
            f"{BEACON}/g_variants?{r}&requestedGranularity=count" for r in regions
        ],
        "range 1 Mb, record (10 per page)": [
            f"{BEACON}/g_variants?{r}&requestedGranularity=record" for r in regions
        ],
        "gene, count": [
            f"{BEACON}/g_variants?geneId={rng.choice(genes)}&requestedGranularity=count"
            for _ in range(PATHS_PER_CASE)
        ],
        "filtered: range 1 Mb + INDEL, count": [
            f"{BEACON}/g_variants?{r}&variantType=INDEL&requestedGranularity=count" for r in regions
        ],
        OPTED_OUT_CASE: [f"{BEACON}/g_variants?{r}&requestedGranularity=count" for r in regions],
    }


@contextmanager
def opted_out(settings: Settings, case: str) -> Iterator[None]:
    """For the opt-out case, OPTED_OUT individuals (every 100th sample) opt out of research
    use for its duration (a national node always has some)."""
    if case != OPTED_OUT_CASE:
        yield
        return
    ids = [f"S{n:05d}" for n in range(0, SAMPLES, SAMPLES // OPTED_OUT)][:OPTED_OUT]
    with migrated_sessions(settings) as sessions:
        registry = ConsentRegistry(sessions)
        registry.opt_out(ids, "benchmark")
        try:
            yield
        finally:
            registry.opt_in(ids)


def warm_page_cache(settings: Settings) -> None:
    """Read the database's files once, so queries meet them in the OS page cache as a
    long-running node would (a cold cache measured the disk: 240 instead of 480 req/s)."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        files = sorted(f for f in path.parent.glob(path.name + "*") if f.is_file())
    elif os.environ.get("GDI_NODE_BENCH_POSTGRES_URL"):
        return  # a server elsewhere: its files are not ours to read
    else:
        files = sorted(f for f in (CACHE / "beacon-postgres" / "base").rglob("*") if f.is_file())
    for file in files:
        with file.open("rb") as stream:
            while stream.read(8 << 20):
                pass


def query_rows(kind: str, settings: Settings, workdir: Path) -> list[str]:
    paths = query_paths(settings)
    warm_page_cache(settings)
    port = free_port()
    data = settings.model_dump(mode="json")
    data["public_url"] = f"http://127.0.0.1:{port}"
    data["server"] |= {"port": port, "workers": 2}
    config = workdir / f"node-{kind}.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    rows = []
    with running_node(["--config", str(config), "serve", "--no-migrate"], port, workdir) as node:
        for case, case_paths in paths.items():
            script = workdir / "paths.lua"
            script.write_text(
                _WRK_SCRIPT % ",\n".join(json.dumps(p) for p in case_paths), encoding="utf-8"
            )
            with opted_out(settings, case):
                run_wrk(node.base_url, script, 4, 2)  # warm caches
                results = [run_wrk(node.base_url, script, c, WRK_SECONDS) for c in (1, 16)]
            for connections, result in zip((1, 16), results, strict=True):
                rate = result.requests / result.seconds
                bad = f"{result.bad_status} non-2xx" if result.bad_status else ""
                goal = "p50 <= 13 ms, >= 670/s" if case == "range 1 Mb, count" else ""
                rows.append(
                    cells(
                        f"{case}, {kind}",
                        f"2, c={connections}",
                        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms",
                        f"{rate:,.0f} req/s",
                        bad,
                        goal,
                    )
                )
    return rows


def cpu_times() -> list[int]:
    """The machine's CPU time counters (``/proc/stat``; user nice system idle iowait irq
    softirq steal ...), to report how much of the run's CPU a virtual machine's host took."""
    with open("/proc/stat", encoding="ascii") as stat:
        return [int(v) for v in stat.readline().split()[1:]]


def steal_share(before: list[int], after: list[int]) -> float:
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return spent[7] / max(1, sum(spent[:8]))


def main() -> None:
    missing = [tool for tool in ("wrk", "bcftools") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"bench_beacon needs {', '.join(missing)}: apt-get install -y {' '.join(missing)}")
    began, stolen = time.monotonic(), cpu_times()
    rows = []
    if THOUSAND_GENOMES.exists():
        progress("ingest of the 1000 Genomes test file")
        rows.append(thousand_genomes_row())
    cohort_path = CACHE / f"beacon-cohort-{VERSION}-{VARIANTS}x{SAMPLES}.bcf"
    if not cohort_path.with_name(cohort_path.name + ".done").exists():
        progress(f"generating {VARIANTS:,} x {SAMPLES:,} (once; kept in {CACHE})")
    cohort = generate_cohort(cohort_path, VARIANTS, SAMPLES)
    with tempfile.TemporaryDirectory(prefix="bench-beacon-") as tmp:
        for kind in ("SQLite", "PostgreSQL"):
            settings, facts = loaded(kind.lower(), cohort.path)
            rows.append(ingest_row(kind, facts))
            progress(f"queries on {kind}")
            rows += query_rows(kind, settings, Path(tmp))
    print(
        f"\nBeacon: synthetic {VARIANTS:,} variants x {SAMPLES:,} samples; 2 workers, loopback,"
        f" wrk {WRK_SECONDS} s per case; run took {time.monotonic() - began:.0f} s;"
        f" {steal_share(stolen, cpu_times()):.0%} of CPU time taken by the host (steal)"
    )
    print_table(("case", "workers", "gdi-node", "", "", "goal"), rows)


if __name__ == "__main__":
    main()
