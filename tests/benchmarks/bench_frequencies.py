"""Benchmark: the national frequency database at 60,000 single-sample genomes (issue #18, "Proof").

Run with ``scripts/bench frequencies [--genomes N] [--backend sqlite|postgresql|both] [--quick]``
(or ``python -m tests.benchmarks.bench_frequencies``; ``--help`` lists every option; the
variables ``GDI_NODE_BENCH_FREQ_GENOMES``, ``_BACKEND``, ``_PROBES``, ``_QUERY_SECONDS``,
``_PHASE_TIMEOUT``, ``_DRIVER`` and ``_ABSENT`` set their defaults). Needs ``bcftools`` and
``wrk``; PostgreSQL from
``GDI_NODE_BENCH_POSTGRES_URL`` or ``GDI_NODE_TEST_POSTGRES_URL`` (a database is created on that
server and dropped afterwards), else a throw-away server (``scripts/test-postgres``).

Data: synthetic national-shape gVCFs (``frequency_cohort.py``: one genome per file, chr22, 1 Mb,
~1,500 variant records and ~2,500 reference blocks each, ~250,000 distinct alleles in 60,000
genomes), generated once into ``$GDI_NODE_BENCH_FREQ_DATA`` (default /tmp/gdi-node-bench-freq)
and grown when a later run asks for more genomes (``python -m tests.benchmarks.frequency_cohort
--genomes 60005`` generates them ahead of a run).

Per backend, into a fresh database, with the real ``gdi-node ingest vcf`` (the command lines
come from :func:`ingest_command`, one place to adjust as the command grows). A command that
takes many files gets up to 500 per call, each in its own ``gdi-node`` process; a command that
takes one file is called in this process through the same click command (``--driver
inprocess``: no interpreter start per genome), unless ``--driver process`` is asked for:

1. genomes 1..E (E = 1,000), then genomes E+1.. one at a time, each timed ("adding genome
   1,001"), then on to M (2,500): the database size and the queries (below), then on to N: size
   and queries again, then genomes N+1.. one at a time ("adding genome N+1"). The whole load is
   every command that loaded genomes 1..N; ratio of the medians N+1 / E+1 (goal <= 1.5);
2. bytes per distinct allele: the database size (SQLite: the file after a WAL checkpoint;
   PostgreSQL: ``pg_total_relation_size`` of the ``beacon*`` tables) over the distinct alleles
   the loaded genomes carry (known from the generator), at N; and for the same first J genomes
   (J = min(N, 5,000)) written as one joint-called multi-sample BCF and loaded into another fresh
   database: per-genome / joint (goal <= 2);
3. queries through ``gdi-node serve`` (2 workers, loopback, anonymous caller on a PUBLIC
   dataset) with ``wrk`` at 1 connection: a count over the whole 1 Mb region, and one allele's
   record (sequence query; alleles drawn from those present at M, the same paths at M and N);
   p50/p95 at M and at N, ratio of the p50s (goal <= 2).

Then the field's baseline on the same N genomes: ``bcftools merge -g`` in batches of <= 500 files
(as many at once as there are cores), a merge of the batches, and ``bcftools +fill-tags``.

Every phase has a time budget (``--phase-timeout``): a load that runs out stops between commands
and the run goes on with what was loaded, saying so, with the rate it reached. Small ``--genomes``
scale E, M and J down (a quarter, a half and all of N).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import gdi_node
from gdi_node.config.settings import Settings
from gdi_node.db.engine import normalise_url
from tests.benchmarks import frequency_cohort as fc
from tests.benchmarks.bench_htsget import progress
from tests.benchmarks.bench_load import throwaway_postgres
from tests.support.processes import GDI_NODE, RunningNode, free_port, running_node

DATA = fc.DATA  # the cohort, joint-called files and run folders
DATASET = "NATIONAL"
BEACON = "/ga4gh/beacon/v2"
NATIONAL = 60_000
MERGE_BATCH = 500  # bcftools merge inputs per batch (open files)
ALLELE_PATHS = 300
FILES_PER_COMMAND = 500  # when the CLI takes many paths
REFERENCE_NAME = "22"  # fc.CHROM as a Beacon request names it


# --- options ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    genomes: int
    backends: tuple[str, ...]
    early: int  # genome early+1 is timed after `early` are loaded
    middle: int  # queries are measured at `middle` and at `genomes`
    joint: int  # genomes of the joint-called comparison
    probes: int  # genomes timed one at a time at each point (their median is reported)
    query_seconds: int
    phase_timeout: float
    driver: str  # auto, process, inprocess
    absent: str | None  # passed as --absent when given
    workers: int
    baseline: bool
    seed: int
    keep: bool


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GDI_NODE_BENCH_FREQ_{name}", default)


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="scripts/bench frequencies",
        description="The national frequency database benchmark (issue #18).",
    )
    parser.add_argument("--genomes", type=int, default=int(_env("GENOMES", str(NATIONAL))))
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default=_env("BACKEND", "both")
    )
    parser.add_argument("--quick", action="store_true", help="300 genomes, short phases")
    parser.add_argument("--early", type=int, help="genomes loaded before the first timed one")
    parser.add_argument("--middle", type=int, help="genomes at the first query measurement")
    parser.add_argument("--joint-genomes", type=int, help="genomes in the joint-called file")
    parser.add_argument("--probes", type=int, default=int(_env("PROBES", "5")))
    parser.add_argument("--query-seconds", type=int, default=int(_env("QUERY_SECONDS", "10")))
    parser.add_argument(
        "--phase-timeout", type=float, default=float(_env("PHASE_TIMEOUT", "3600")),
        help="seconds each phase may take (load, queries, merge, ...)",
    )  # fmt: skip
    parser.add_argument(
        "--driver", choices=("auto", "process", "inprocess"), default=_env("DRIVER", "auto"),
        help="process: one gdi-node process per command; inprocess: the same click command"
        " called in this process (no interpreter start per command); auto: process when the"
        " command takes many files, else inprocess",
    )  # fmt: skip
    parser.add_argument("--absent", choices=("ref", "nocall"), default=_env("ABSENT", "") or None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-baseline", action="store_true", help="skip bcftools merge")
    parser.add_argument("--seed", type=int, default=fc.SEED)
    parser.add_argument("--keep", action="store_true", help="keep the databases and work files")
    args = parser.parse_args(argv)
    if args.quick:
        if "--genomes" not in argv:
            args.genomes = 300
        args.probes = min(args.probes, 3)
        args.query_seconds = min(args.query_seconds, 3)
        args.phase_timeout = min(args.phase_timeout, 600)
    n = args.genomes
    early = args.early if args.early is not None else min(1_000, n // 4)
    middle = args.middle if args.middle is not None else min(2_500, n // 2)
    joint = args.joint_genomes if args.joint_genomes is not None else min(n, 5_000)
    if not (early >= 1 and early + args.probes <= middle <= n and early + args.probes <= joint):
        parser.error(
            f"need 1 <= early ({early}), early + probes ({args.probes}) <= middle ({middle})"
            f" <= genomes ({n}), early + probes <= joint genomes ({joint})"
        )
    if joint > n:
        parser.error(f"--joint-genomes ({joint}) exceeds --genomes ({n})")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    return Options(
        genomes=n, backends=backends, early=early, middle=middle, joint=joint,
        probes=args.probes, query_seconds=args.query_seconds, phase_timeout=args.phase_timeout,
        driver=args.driver, absent=args.absent, workers=args.workers,
        baseline=not args.no_baseline, seed=args.seed, keep=args.keep,
    )  # fmt: skip


# --- the ingest command -----------------------------------------------------------------------


@dataclass(frozen=True)
class IngestCli:
    """What ``gdi-node ingest vcf --help`` offers: many paths per call, and its long options."""

    many_paths: bool
    options: frozenset[str]

    @classmethod
    def probe(cls) -> IngestCli:
        shown = subprocess.run(
            [str(GDI_NODE), "ingest", "vcf", "--help"],
            capture_output=True, text=True, check=True, env=node_env(), timeout=120,
        ).stdout  # fmt: skip
        return cls.from_help(shown)

    @classmethod
    def from_help(cls, shown: str) -> IngestCli:
        usage = shown.split("\n\n", 1)[0]
        return cls("..." in usage, frozenset(re.findall(r"(--[a-z][a-z-]*)", shown)))


def ingest_command(
    cli: IngestCli,
    config: Path,
    files: Sequence[Path],
    sheet: Path,
    options: Options,
    *,
    joint: bool = False,
) -> list[str]:
    """The ``gdi-node`` arguments that load ``files`` (several only if the command takes many
    paths) into the benchmark's dataset, with ``sheet`` (their samples' sex and country).

    The one place to change as ``ingest vcf`` grows (a manifest, ``--min-gq``, ...). gVCFs need
    no callability statement (reference blocks say it); ``--absent`` is passed when asked for,
    except for the ``joint``-called file (a multi-sample file states its own)."""
    if len(files) > 1 and not cli.many_paths:
        raise ValueError("this gdi-node loads one file per ingest vcf command")
    args = ["--config", str(config), "ingest", "vcf", *map(str, files), "--dataset", DATASET]
    args += ["--samples", str(sheet)]
    if "--json" in cli.options:
        args.append("--json")
    if options.absent and not joint:
        if "--absent" not in cli.options:
            raise BenchError(f"--absent {options.absent}: this gdi-node has no --absent option")
        args += ["--absent", options.absent]
    if "--jobs" in cli.options and len(files) > 1:  # files loaded side by side
        args += ["--jobs", str(options.workers)]
    return args


class BenchError(Exception):
    """A phase that cannot go on (a failed command, a missing tool); reported as a note."""


class PhaseTimeout(Exception):
    def __init__(self, done: int) -> None:
        super().__init__(f"timed out after {done} commands")
        self.done = done


def node_env() -> dict[str, str]:
    """The environment for gdi-node processes: they import the same gdi_node as this one."""
    source = str(Path(gdi_node.__file__).resolve().parents[1])
    paths = [source, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


@dataclass(frozen=True)
class Ran:
    seconds: float  # wall time of the command
    own_seconds: float | None  # the time the command reports for the load itself (--json)


def _own_seconds(stdout: str) -> float | None:
    try:
        document = json.loads(stdout)
    except ValueError:
        return None
    items = document if isinstance(document, list) else [document]
    found = [i["seconds"] for i in items if isinstance(i, dict) and "seconds" in i]
    return float(sum(found)) if found else None


def run_gdi_node(args: list[str], driver: str, timeout: float) -> Ran:
    """Run a gdi-node command line as a process or, ``inprocess``, through the same click
    command in this process; a failure raises BenchError with its output."""
    began = time.perf_counter()
    if driver == "process":
        try:
            done = subprocess.run(
                [str(GDI_NODE), *args], capture_output=True, text=True, env=node_env(),
                timeout=max(timeout, 1), check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise PhaseTimeout(0) from None
        if done.returncode != 0:
            raise BenchError(f"gdi-node {' '.join(args[2:5])} failed: {done.stderr.strip()[-800:]}")
        return Ran(time.perf_counter() - began, _own_seconds(done.stdout))
    from gdi_node.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main.main(args=args, prog_name="gdi-node", standalone_mode=False)
    except (Exception, SystemExit) as exc:
        detail = getattr(exc, "message", None) or str(exc)
        tail = err.getvalue()[-800:]
        raise BenchError(f"gdi-node {' '.join(args[2:5])} failed: {detail} {tail}") from None
    return Ran(time.perf_counter() - began, _own_seconds(out.getvalue()))


# --- databases ----------------------------------------------------------------------------------


@dataclass
class Database:
    backend: str
    settings: Settings
    config: Path
    admin_url: str | None  # PostgreSQL: the server, to drop the database
    name: str | None

    @property
    def url(self) -> str:
        return self.settings.effective_database_url

    def size(self) -> tuple[int, list[tuple[str, int]]]:
        """Bytes of the database (see the module docstring) and its largest objects."""
        if self.backend == "sqlite":
            path = Path(self.url.split("///", 1)[1])
            with contextlib.closing(sqlite3.connect(path)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                parts = connection.execute(
                    "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 4"
                ).fetchall()
            total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            return total, [(str(n), int(b)) for n, b in parts]
        engine = create_engine(normalise_url(self.url))
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT tablename, pg_total_relation_size(quote_ident(tablename))"
                        " FROM pg_tables WHERE schemaname = current_schema()"
                        " AND tablename LIKE 'beacon%' ORDER BY 2 DESC"
                    )
                ).all()
        finally:
            engine.dispose()
        return sum(int(b) for _, b in rows), [(str(n), int(b)) for n, b in rows[:4]]


@contextlib.contextmanager
def database(backend: str, folder: Path, keep: bool) -> Iterator[Database]:
    """A fresh, empty database for the benchmark's dataset (dropped afterwards unless kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        shutil.rmtree(folder / "data", ignore_errors=True)
        yield _database(backend, folder, None, None, None)
        return
    with _postgres_server() as server:
        name = f"bench_freq_{uuid.uuid4().hex[:10]}"
        admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(normalise_url(server)).set(database=name)
        try:
            yield _database(
                backend, folder, url.render_as_string(hide_password=False), server, name
            )
        finally:
            if not keep:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@contextlib.contextmanager
def _postgres_server() -> Iterator[str]:
    given = os.environ.get("GDI_NODE_BENCH_POSTGRES_URL") or os.environ.get(
        "GDI_NODE_TEST_POSTGRES_URL"
    )
    if given:
        yield given
        return
    with throwaway_postgres() as url:
        yield url


def _database(
    backend: str, folder: Path, url: str | None, admin: str | None, name: str | None
) -> Database:
    settings = Settings.model_validate(
        {
            "data_dir": folder / "data",
            "database_url": url,
            "datasets": [
                {"id": DATASET, "name": "Synthetic national cohort", "security_level": "PUBLIC"}
            ],
            "logging": {"level": "WARNING", "format": "json"},
            "beacon": {"budget": {"units": 10**15}},  # wrk from one address: never refused
        }
    )
    port = free_port()
    data = settings.model_dump(mode="json")
    data["public_url"] = f"http://127.0.0.1:{port}"
    data["server"] |= {"port": port, "workers": 2}
    config = folder / "node.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return Database(backend, settings, config, admin, name)


# --- loading --------------------------------------------------------------------------------------


@dataclass
class Loader:
    """Loads genomes of the cohort into one database, one command line at a time."""

    cli: IngestCli
    driver: str
    database: Database
    cohort: fc.Cohort
    options: Options
    workdir: Path
    commands: list[list[str]] = field(default_factory=list)
    _shown: set[str] = field(default_factory=set)
    seconds: float = 0.0  # wall time of every command that loaded genomes < options.genomes
    own_seconds: float | None = 0.0
    loaded: int = 0

    def sheet(self, first: int, stop: int) -> Path:
        path = self.workdir / f"samples-{first}-{stop}.tsv"
        rows = ["sample\tsex\tcountry"]
        rows += [f"{fc.sample_name(i)}\t{fc.sample_sex(i)}\tDK" for i in range(first, stop)]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return path

    def _command(self, first: int, stop: int, deadline: float, kind: str) -> Ran:
        sheet = self.sheet(first, stop)
        args = ingest_command(
            self.cli, self.database.config, self.cohort.paths(first, stop), sheet, self.options
        )
        if kind not in self._shown:  # the first command of each kind, to print
            self._shown.add(kind)
            self.commands.append([str(GDI_NODE), *args])
        ran = run_gdi_node(args, self.driver, deadline - time.monotonic())
        sheet.unlink()
        if stop <= self.options.genomes:
            self.seconds += ran.seconds
            self.own_seconds = (
                None
                if self.own_seconds is None or ran.own_seconds is None
                else self.own_seconds + ran.own_seconds
            )
        self.loaded = stop
        return ran

    def load(self, stop: int, what: str) -> None:
        """Load genomes [loaded, stop); PhaseTimeout(genomes done) when out of time."""
        deadline = time.monotonic() + self.options.phase_timeout
        step = FILES_PER_COMMAND if self.cli.many_paths else 1
        began, first = time.monotonic(), self.loaded
        shown = began
        while self.loaded < stop:
            if time.monotonic() > deadline:
                raise PhaseTimeout(self.loaded - first)
            try:
                self._command(self.loaded, min(stop, self.loaded + step), deadline, "load")
            except PhaseTimeout:
                raise PhaseTimeout(self.loaded - first) from None
            if time.monotonic() - shown > 30:
                shown = time.monotonic()
                rate = (self.loaded - first) / (shown - began)
                progress(f"{what}: {self.loaded:,}/{stop:,} genomes ({rate:.2f}/s)")

    def probe(self, count: int) -> list[Ran]:
        """Add the next ``count`` genomes one command each; their timings."""
        deadline = time.monotonic() + self.options.phase_timeout
        return [self._command(self.loaded, self.loaded + 1, deadline, "add") for _ in range(count)]


# --- queries --------------------------------------------------------------------------------------

_WRK_SCRIPT = """\
local paths = {
%s
}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass(frozen=True)
class Latency:
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    failed: int  # non-2xx answers and socket errors

    def cell(self, digits: int = 1) -> str:
        bad = f", {self.failed} failed" if self.failed else ""
        return f"p50 {self.p50_ms:.{digits}f} ms, p95 {self.p95_ms:.1f} ms{bad}"


def wrk_latency(base: str, paths: Sequence[str], seconds: int, workdir: Path) -> Latency:
    script = workdir / "paths.lua"
    script.write_text(_WRK_SCRIPT % ",\n".join(json.dumps(p) for p in paths), encoding="utf-8")
    command = ["wrk", "-t1", "-c1", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), base]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    requests, p50, p95, p99, status, errors = (int(v) for v in line.split()[1:])
    return Latency(requests, p50 / 1000, p95 / 1000, p99 / 1000, status + errors)


def region_path() -> str:
    start, end = fc.REGION_START, fc.REGION_START + fc.REGION_LENGTH
    return (
        f"{BEACON}/g_variants?referenceName={REFERENCE_NAME}&start={start}&end={end}"
        "&requestedGranularity=count"
    )


def allele_paths(catalogue: fc.Catalogue, alleles: Sequence[int]) -> list[str]:
    return [
        f"{BEACON}/g_variants?referenceName={REFERENCE_NAME}"
        f"&start={fc.REGION_START + int(catalogue.start[a])}&referenceBases={catalogue.ref(a)}"
        f"&alternateBases={catalogue.alt(a)}&requestedGranularity=record"
        for a in alleles
    ]


@dataclass(frozen=True)
class Queries:
    genomes: int
    region: Latency
    allele: Latency
    served_count: int | None  # the region count the node answers
    allele_found: bool


def measure_queries(
    database: Database, genomes: int, paths: list[str], seconds: int, workdir: Path
) -> Queries:
    with serving(database.config, workdir) as node:
        counted = httpx.get(node.base_url + region_path(), timeout=60)
        served = None
        if counted.status_code == 200:
            served = counted.json().get("responseSummary", {}).get("numTotalResults")
        found = httpx.get(node.base_url + paths[0], timeout=60)
        exists = found.status_code == 200 and bool(
            found.json().get("responseSummary", {}).get("exists")
        )
        region, allele = timed_queries(node.base_url, paths, seconds, workdir)
    return Queries(genomes, region, allele, served, exists)


@contextlib.contextmanager
def serving(config: Path, workdir: Path) -> Iterator[RunningNode]:
    """``gdi-node serve`` on the database ``config`` describes, at its configured port."""
    port = int(yaml.safe_load(config.read_text(encoding="utf-8"))["server"]["port"])
    args = ["--config", str(config), "serve", "--no-migrate"]
    with running_node(args, port, workdir, env=node_env()) as node:
        yield node


def timed_queries(
    base: str, paths: list[str], seconds: int, workdir: Path
) -> tuple[Latency, Latency]:
    """(1 Mb count, allele record) latencies of the node at ``base``, after a warm-up."""
    wrk_latency(base, [region_path(), *paths[:20]], 2, workdir)
    region = wrk_latency(base, [region_path()], seconds, workdir)
    return region, wrk_latency(base, paths, seconds, workdir)


# --- one backend ----------------------------------------------------------------------------------


@dataclass
class Sized:
    genomes: int
    bytes: int
    distinct: int
    largest: list[tuple[str, int]]

    @property
    def per_allele(self) -> float:
        return self.bytes / self.distinct


@dataclass
class BackendRun:
    backend: str
    load_seconds: float | None = None  # genomes 1..N, wall
    load_own_seconds: float | None = None
    loaded: int = 0
    early_probes: list[Ran] = field(default_factory=list)
    early_after: int = 0
    late_probes: list[Ran] = field(default_factory=list)
    late_after: int = 0
    sizes: dict[int, Sized] = field(default_factory=dict)
    queries: dict[int, Queries] = field(default_factory=dict)
    joint: Sized | None = None
    joint_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class Shared:
    """What every backend's run uses: the cohort, its truth and the query paths."""

    cohort: fc.Cohort
    catalogue: fc.Catalogue
    first_carrier: fc.Ints
    allele_paths: list[str]
    joint_file: Path | None

    def distinct(self, genomes: int) -> int:
        return int(np.sum(self.first_carrier < genomes))


def run_backend(
    backend: str, options: Options, cli: IngestCli, driver: str, shared: Shared, workdir: Path
) -> BackendRun:
    run = BackendRun(backend)
    folder = workdir / backend
    with database(backend, folder / "per-genome", options.keep) as db:
        loader = Loader(cli, driver, db, shared.cohort, options, folder)
        try:
            _load_and_measure(run, loader, db, options, shared, folder)
        except PhaseTimeout as stopped:
            rate = stopped.done / options.phase_timeout
            at = f" (at that rate {options.genomes:,} take {_duration(options.genomes / rate)})"
            run.notes.append(
                f"{backend}: a phase ran out of its {options.phase_timeout:.0f} s after"
                f" {loader.loaded:,} genomes loaded; {rate:.2f} genomes/s in that phase"
                + (at if rate else "")
            )
            _measure_where_stopped(run, loader, db, options, shared, folder)
        except BenchError as failed:
            run.notes.append(f"{backend}: {failed}")
        run.commands = loader.commands
        run.loaded = loader.loaded
    if shared.joint_file is not None:
        _joint(run, options, cli, driver, shared, folder)
    return run


def _size(run: BackendRun, db: Database, shared: Shared, genomes: int) -> None:
    total, largest = db.size()
    run.sizes[genomes] = Sized(genomes, total, shared.distinct(genomes), largest)


def _load_and_measure(
    run: BackendRun, loader: Loader, db: Database, options: Options, shared: Shared, folder: Path
) -> None:
    n = options.genomes
    progress(f"{run.backend}: loading genomes 1..{options.early:,}")
    loader.load(options.early, f"{run.backend} load")
    run.early_after = loader.loaded
    progress(f"{run.backend}: adding genomes {loader.loaded + 1:,}.. one at a time")
    run.early_probes = loader.probe(options.probes)
    for stop in sorted({options.middle, options.joint, n}):
        progress(f"{run.backend}: loading genomes {loader.loaded + 1:,}..{stop:,}")
        loader.load(stop, f"{run.backend} load")
        _size(run, db, shared, stop)
        if stop in (options.middle, n):
            progress(f"{run.backend}: queries at {stop:,} genomes")
            run.queries[stop] = measure_queries(
                db, stop, shared.allele_paths, options.query_seconds, folder
            )
    run.load_seconds, run.load_own_seconds = loader.seconds, loader.own_seconds
    run.late_after = loader.loaded
    progress(f"{run.backend}: adding genomes {n + 1:,}.. one at a time")
    run.late_probes = loader.probe(options.probes)


def _measure_where_stopped(
    run: BackendRun, loader: Loader, db: Database, options: Options, shared: Shared, folder: Path
) -> None:
    """After a load ran out of time: size, queries and one more timed genome where it stopped
    (each of these has its own budget; a second timeout ends the backend's run)."""
    at = loader.loaded
    if at <= 0:
        return
    with contextlib.suppress(PhaseTimeout, BenchError):
        if at not in run.sizes:
            _size(run, db, shared, at)
        if at not in run.queries and at >= options.early + options.probes:
            run.queries[at] = measure_queries(
                db, at, shared.allele_paths, options.query_seconds, folder
            )
        if not run.late_probes and run.early_probes:
            run.late_after = at
            run.late_probes = loader.probe(1)


def _joint(
    run: BackendRun, options: Options, cli: IngestCli, driver: str, shared: Shared, workdir: Path
) -> None:
    assert shared.joint_file is not None
    progress(f"{run.backend}: loading the joint-called file of {options.joint:,} genomes")
    with database(run.backend, workdir / "joint", options.keep) as db:
        loader = Loader(cli, driver, db, shared.cohort, options, workdir)
        sheet = loader.sheet(0, options.joint)
        args = ingest_command(cli, db.config, [shared.joint_file], sheet, options, joint=True)
        run.commands.append([str(GDI_NODE), *args])
        try:
            ran = run_gdi_node(args, driver, options.phase_timeout)
        except PhaseTimeout:
            run.notes.append(f"{run.backend}: the joint-called load ran out of time")
            return
        except BenchError as failed:
            run.notes.append(f"{run.backend}: joint-called load: {failed}")
            return
        run.joint_seconds = ran.seconds
        total, largest = db.size()
        run.joint = Sized(options.joint, total, shared.distinct(options.joint), largest)


# --- the field's baseline -----------------------------------------------------------------------


@dataclass
class Baseline:
    genomes: int
    batches: int = 0
    batch_seconds: float | None = None
    top_seconds: float | None = None
    fill_seconds: float | None = None
    output_bytes: int | None = None
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float | None:
        parts = (self.batch_seconds, self.top_seconds, self.fill_seconds)
        return None if any(p is None for p in parts) else sum(p or 0 for p in parts)


def _bcftools(args: list[str], deadline: float) -> None:
    try:
        done = subprocess.run(
            ["bcftools", *args], capture_output=True, text=True, check=False,
            timeout=max(1.0, deadline - time.monotonic()),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PhaseTimeout(0) from None
    if done.returncode != 0:
        raise BenchError(f"bcftools {' '.join(args[:2])}: {done.stderr.strip()[-500:]}")


def field_baseline(cohort: fc.Cohort, genomes: int, options: Options, workdir: Path) -> Baseline:
    """bcftools merge -g of the genomes in batches of <= 500 (as many at once as there are
    cores), a merge of the batches, then +fill-tags; each step timed."""
    out = Baseline(genomes)
    folder = workdir / "baseline"
    folder.mkdir(parents=True, exist_ok=True)
    batches = [
        (k, cohort.paths(first, min(genomes, first + MERGE_BATCH)))
        for k, first in enumerate(range(0, genomes, MERGE_BATCH))
    ]
    out.batches = len(batches)

    def merge(args: tuple[int, list[Path]]) -> Path:
        k, paths = args
        listing = folder / f"batch-{k:04d}.txt"
        listing.write_text("\n".join(map(str, paths)) + "\n", encoding="utf-8")
        target = folder / f"batch-{k:04d}.bcf"
        merge_g = ["merge", "-g", str(reference), "-l", str(listing)]
        _bcftools([*merge_g, "-Ob", "-o", str(target)], deadline)
        _bcftools(["index", "-f", str(target)], deadline)
        return target

    catalogue = fc.catalogue_for(cohort.seed, cohort.shape)
    reference = fc.write_reference(catalogue, workdir / "reference.fa")
    merged, filled = folder / "merged.bcf", folder / "filled.bcf"
    out.commands = [
        f"bcftools merge -g reference.fa -l batch-K.txt -Ob -o batch-K.bcf  (x{len(batches)},"
        f" batches of <= {MERGE_BATCH} files, {options.workers} at once);"
        " bcftools index batch-K.bcf",
        "bcftools merge -g reference.fa -l batches.txt -Ob -o merged.bcf"
        if len(batches) > 1
        else "(one batch: it is the merged file)",
        "bcftools +fill-tags merged.bcf -Ob -o filled.bcf -- -t AN,AC,AF,AC_Hom,AC_Het",
    ]
    try:
        deadline = time.monotonic() + options.phase_timeout
        began = time.monotonic()
        with ThreadPoolExecutor(options.workers) as pool:
            outputs = list(pool.map(merge, batches))
        out.batch_seconds = time.monotonic() - began
        deadline = time.monotonic() + options.phase_timeout
        began = time.monotonic()
        if len(outputs) > 1:
            listing = folder / "batches.txt"
            listing.write_text("\n".join(map(str, outputs)) + "\n", encoding="utf-8")
            merge_g = ["merge", "-g", str(reference), "-l", str(listing)]
            _bcftools([*merge_g, "-Ob", "-o", str(merged)], deadline)
        else:
            outputs[0].replace(merged)
        out.top_seconds = time.monotonic() - began
        deadline = time.monotonic() + options.phase_timeout
        began = time.monotonic()
        fill = ["+fill-tags", str(merged), "-Ob", "-o", str(filled), "--"]
        _bcftools([*fill, "-t", "AN,AC,AF,AC_Hom,AC_Het"], deadline)
        out.fill_seconds = time.monotonic() - began
        out.output_bytes = filled.stat().st_size
    except PhaseTimeout:
        out.notes.append(f"baseline: a step ran out of its {options.phase_timeout:.0f} s")
    except BenchError as failed:
        out.notes.append(f"baseline: {failed}")
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return out


# --- the report -------------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _ratio(late: float | None, early: float | None) -> str:
    return f"{late / early:.2f}" if late and early else "-"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7_200 else f"{seconds / 3600:.1f} h"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} s" if value >= 100 else f"{value:.2f} s"


def rows_for(runs: Sequence[BackendRun], options: Options) -> list[list[str]]:
    """The table's rows: measure, one cell per backend, goal."""
    n = options.genomes
    rows: list[list[str]] = []

    def add(label: str, cells: Iterator[str], goal: str = "") -> None:
        rows.append([label, *cells, goal])

    add(f"whole load, genomes 1..{n:,}", (_load_cell(r, n) for r in runs), "<= 60 min at 60,000")
    add(
        f"add genome {options.early + 1:,} (after {options.early:,})",
        (_probe_cell(r.early_probes, r.early_after) for r in runs),
    )
    late = (
        f"add genome {n + 1:,} (after {n:,})"
        if all(r.late_after == n for r in runs)
        else f"add a genome where the load ended ({n:,} planned)"
    )
    add(late, (_probe_cell(r.late_probes, r.late_after) for r in runs))
    add("  ratio late / early add", (_probe_ratio(r) for r in runs), "<= 1.5")
    for genomes in sorted({g for r in runs for g in r.sizes}):
        add(f"database at {genomes:,} genomes", (_size_cell(r.sizes.get(genomes)) for r in runs))
    add(f"joint-called BCF of genomes 1..{options.joint:,}", (_joint_cell(r) for r in runs))
    add(
        f"  B/allele per-genome / joint at {options.joint:,}",
        (
            _ratio(r.sizes[options.joint].per_allele, r.joint.per_allele)
            if r.joint is not None and options.joint in r.sizes
            else "-"
            for r in runs
        ),
        "<= 2",
    )
    points = sorted({g for r in runs for g in r.queries})
    for kind, pick in (("1 Mb count", "region"), ("allele record", "allele")):
        for genomes in points:
            add(
                f"{kind} at {genomes:,} genomes",
                (_latency(r, genomes, pick).cell() if genomes in r.queries else "-" for r in runs),
            )
        if len(points) >= 2:
            low, high = points[0], points[-1]
            add(
                f"  p50 ratio {high:,} / {low:,}",
                (
                    _ratio(_latency(r, high, pick).p50_ms, _latency(r, low, pick).p50_ms)
                    if low in r.queries and high in r.queries
                    else "-"
                    for r in runs
                ),
                "<= 2",
            )
    for genomes in points:
        add(
            f"  1 Mb count answered at {genomes:,} (distinct alleles carried)",
            (_answered_cell(r, genomes) for r in runs),
        )
    return rows


def _load_cell(run: BackendRun, genomes: int) -> str:
    if run.load_seconds is None:
        return f"not finished ({run.loaded:,} loaded)"
    own = f"; ingest's own {_seconds(run.load_own_seconds)}" if run.load_own_seconds else ""
    return f"{_seconds(run.load_seconds)} ({genomes / run.load_seconds:.1f} genomes/s{own})"


def _probe_cell(probes: list[Ran], after: int) -> str:
    if not probes:
        return "-"
    wall = _median([p.seconds for p in probes])
    owns = [p.own_seconds for p in probes if p.own_seconds is not None]
    own = f" (ingest's own {_median(owns):.2f} s)" if len(owns) == len(probes) else ""
    return f"{wall:.2f} s{own}, median of {len(probes)} after {after:,}"


def _probe_ratio(run: BackendRun) -> str:
    if not (run.early_probes and run.late_probes):
        return "-"
    wall = _ratio(
        _median([p.seconds for p in run.late_probes]),
        _median([p.seconds for p in run.early_probes]),
    )
    late = [p.own_seconds for p in run.late_probes if p.own_seconds is not None]
    early = [p.own_seconds for p in run.early_probes if p.own_seconds is not None]
    own = f"; own {_ratio(_median(late), _median(early))}" if late and early else ""
    return f"wall {wall}{own}"


def _size_cell(sized: Sized | None) -> str:
    if sized is None:
        return "-"
    return (
        f"{sized.bytes / 1e6:,.1f} MB, {sized.distinct:,} alleles, {sized.per_allele:,.0f} B/allele"
    )


def _joint_cell(run: BackendRun) -> str:
    if run.joint is None:
        return "-"
    return (
        f"{run.joint.bytes / 1e6:,.1f} MB, {run.joint.per_allele:,.0f} B/allele"
        f" (load {_seconds(run.joint_seconds)})"
    )


def _latency(run: BackendRun, genomes: int, kind: str) -> Latency:
    queries = run.queries[genomes]
    return queries.region if kind == "region" else queries.allele


def _answered_cell(run: BackendRun, genomes: int) -> str:
    if genomes not in run.queries or genomes not in run.sizes:
        return "-"
    queries = run.queries[genomes]
    missing = "" if queries.allele_found else "; an allele record was not found"
    served = "?" if queries.served_count is None else f"{queries.served_count:,}"
    return f"{served} ({run.sizes[genomes].distinct:,}){missing}"


def print_table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headings)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB RAM, {platform.platform()}"


def versions(databases: dict[str, str]) -> str:
    def first_line(command: list[str]) -> str:
        with contextlib.suppress(OSError, IndexError, subprocess.SubprocessError):
            shown = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
            return (shown.stdout or shown.stderr).strip().splitlines()[0]
        return "?"

    parts = [
        f"gdi-node {gdi_node.__version__} ({Path(gdi_node.__file__).resolve().parents[2]})",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
        first_line(["bcftools", "--version"]),
        first_line(["wrk", "-v"]).split(" [")[0],
        f"numpy {np.__version__}",
    ]
    parts += [f"{k} {v}" for k, v in databases.items()]
    return "; ".join(parts)


def postgres_version() -> str | None:
    with contextlib.suppress(Exception), _postgres_server() as url:
        engine = create_engine(normalise_url(url))
        with engine.connect() as connection:
            shown = str(connection.execute(text("SHOW server_version")).scalar_one())
        engine.dispose()
        return shown
    return None


def report(
    options: Options,
    runs: Sequence[BackendRun],
    baseline: Baseline | None,
    generated: fc.Generated,
    generation_note: str,
    driver: str,
    cli: IngestCli,
    example: Sequence[str],
    began: float,
) -> None:
    databases = {}
    if "postgresql" in options.backends:
        databases["PostgreSQL"] = postgres_version() or "?"
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    print(
        f"\nFrequencies: {options.genomes:,} synthetic national-shape genomes ({fc.CHROM}"
        f":{fc.REGION_START + 1:,}-{fc.REGION_START + fc.REGION_LENGTH:,}, single-sample gVCFs),"
        f" run took {time.monotonic() - began:,.0f} s"
    )
    print(f"machine: {machine()}")
    print(f"versions: {versions(databases)}")
    print(
        f"data: {generation_note}; {generated.cohort.folder}"
        f"\nload driver: {driver} ({'many files' if cli.many_paths else 'one file'} per command;"
        f" ingest vcf options: {' '.join(sorted(cli.options - {'--help'}))})"
    )
    rows = rows_for(runs, options)
    if baseline is not None:
        width = len(runs)
        total = baseline.total_seconds
        steps = (baseline.batch_seconds, baseline.top_seconds, baseline.fill_seconds)
        rows.append(
            [
                f"bcftools merge -g + fill-tags, {baseline.genomes:,} genomes",
                *[_seconds(total) if total else "not finished"] * width,
                "field baseline",
            ]
        )
        rows.append(
            [
                f"  merge of {baseline.batches} batch(es) / of the batches / fill-tags",
                *[" / ".join(_seconds(step) for step in steps)] * width,
                "",
            ]
        )
    print()
    print_table(["measure", *(names[r.backend] for r in runs), "goal"], rows)
    print("\ncommands:")
    for r in runs:
        for command in r.commands:
            shown = [c if len(c) < 90 else "…" + c[-60:] for c in command]
            print(f"  {names[r.backend]}: {' '.join(shown)}")
    for r in runs:
        for genomes, sized in sorted(r.sizes.items()):
            largest = ", ".join(f"{n} {b / 1e6:.1f} MB" for n, b in sized.largest)
            print(f"  {names[r.backend]} largest at {genomes:,}: {largest}")
        if r.joint is not None:
            largest = ", ".join(f"{n} {b / 1e6:.1f} MB" for n, b in r.joint.largest)
            print(f"  {names[r.backend]} largest, joint-called: {largest}")
    if baseline is not None:
        for line in baseline.commands:
            print(f"  baseline: {line}")
        if baseline.output_bytes:
            print(f"  baseline output: {baseline.output_bytes / 1e6:,.1f} MB BCF (filled.bcf)")
    print(
        f"  queries: wrk -t1 -c1 -d{options.query_seconds}s against gdi-node serve (2 workers);"
        f" count: {region_path()}"
    )
    print(f"           allele: {len(example)} paths like {example[0]}")
    notes = [n for r in runs for n in r.notes] + (baseline.notes if baseline else [])
    if options.genomes < NATIONAL:
        notes.append(
            f"scaled down: {options.genomes:,} genomes (the issue's goals are for 60,000);"
            f" early add after {options.early:,}, queries at {options.middle:,} and"
            f" {options.genomes:,}, joint-called comparison at {options.joint:,}"
        )
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  - {note}")


# --- the run ----------------------------------------------------------------------------------


def prepare(options: Options, workdir: Path) -> tuple[Shared, fc.Generated, str]:
    folder = fc.default_folder(options.seed)
    wanted = options.genomes + options.probes

    def shown(done: int, todo: int) -> None:
        if done % 20 == 0 or done == todo:
            progress(f"generated {done}/{todo} chunks of {fc.CHUNK} genomes")

    progress(f"genomes 1..{wanted:,} in {folder} (generated where missing)")
    generated = fc.generate(folder, wanted, seed=options.seed, workers=options.workers,
                            progress=shown)  # fmt: skip
    note = _generation_note(folder, generated)
    catalogue = fc.catalogue_for(options.seed, fc.Shape())
    first = fc.first_carrier(generated.cohort, wanted, catalogue)
    paths = probed_paths(first, catalogue, options.middle, options.seed)
    joint = DATA / f"joint-{fc.VERSION}-{options.seed}-{options.joint}.bcf"
    if not joint.exists():
        progress(f"writing the joint-called BCF of genomes 1..{options.joint:,}")
        partial = joint.with_name(joint.stem + ".partial.bcf")
        began = time.perf_counter()
        records = fc.write_joint(generated.cohort, options.joint, partial, catalogue)
        partial.replace(joint)
        progress(f"  {records:,} records in {time.perf_counter() - began:.0f} s")
    return Shared(generated.cohort, catalogue, first, paths, joint), generated, note


def probed_paths(first: fc.Ints, catalogue: fc.Catalogue, middle: int, seed: int) -> list[str]:
    """The allele-record paths asked: up to :data:`ALLELE_PATHS` alleles, drawn by ``seed``
    among those whose ``first`` carrier (:func:`fc.first_carrier`) comes before ``middle``."""
    present = np.flatnonzero(first < middle).tolist()
    rng = random.Random(seed)
    return allele_paths(catalogue, rng.sample(present, min(ALLELE_PATHS, len(present))))


def _generation_note(folder: Path, generated: fc.Generated) -> str:
    """The generation rate: this run's if it generated genomes, else the folder's history."""
    history = fc.generation_history(folder)
    if generated.made:
        made, seconds, workers = generated.made, generated.seconds, generated.workers
        scope = "this run"
    elif history:
        made, seconds, workers = history["genomes"], history["seconds"], history["workers"]
        scope = "earlier runs"
    else:
        return "genomes reused (generated before generation times were kept)"
    rate = made / seconds
    return (
        f"{made:,} genomes generated at {rate:.0f} files/s with {workers} processes ({scope};"
        f" 60,000 would take {NATIONAL / rate / 60:.0f} min)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(sys.argv[1:] if argv is None else list(argv))
    missing = [tool for tool in ("bcftools", "wrk") if shutil.which(tool) is None]
    if missing:
        print(
            f"bench frequencies needs {', '.join(missing)}: apt-get install -y {' '.join(missing)}"
        )
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: drop databases, stop node
    began = time.monotonic()
    cli = IngestCli.probe()
    driver = options.driver
    if driver == "auto":
        driver = "process" if cli.many_paths else "inprocess"
    DATA.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=DATA))
    try:
        shared, generated, generation_note = prepare(options, workdir)
        runs = [
            run_backend(backend, options, cli, driver, shared, workdir)
            for backend in options.backends
        ]
        baseline = None
        if options.baseline:
            progress(f"baseline: bcftools merge -g + fill-tags of {options.genomes:,} genomes")
            baseline = field_baseline(shared.cohort, options.genomes, options, workdir)
        report(
            options, runs, baseline, generated, generation_note, driver, cli,
            shared.allele_paths, began,
        )  # fmt: skip
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
