"""Loading a folder of genomes (issue #18): the national database receives pipeline output per
genome, placed in folders, so ``gdi-node ingest vcf`` takes many files, folders or a manifest,
loads them on every core and can be run again after an interruption.

- **What is loaded.** Each path is a VCF/BCF file or a folder searched recursively for them
  (``.vcf.gz``, ``.vcf.bgz``, ``.vcf``, ``.bcf``; indexes and other files are skipped), in
  path order. A manifest is a tab-separated file with a ``path`` column (relative to the
  manifest's folder) and optional columns of per-file load options, one row per file.
- **One load per file.** Every file is its own load (gdi_node.beacon.ingest.vcf): answers see
  a genome whole or not at all, a failed or killed load is discarded, and a file loaded before
  with the same content is left as it is. So an interrupted batch leaves finished genomes
  loaded and none half-loaded, and running it again loads only what is missing.
- **Every core.** ``jobs`` worker processes load files side by side; each worker holds its own
  database sessions. Loads into one dataset share its write steps (decision record 0014).
- One line per failed file (its path and why); the other files still load.
"""

from __future__ import annotations

import csv
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from gdi_node.errors import InvalidInputError

GENOME_SUFFIXES = (".vcf.gz", ".vcf.bgz", ".vcf", ".bcf")
STATUSES = ("loaded", "replaced", "unchanged", "failed")


@dataclass(frozen=True)
class Genome:
    """One file of a batch, with the load options its manifest row gives."""

    path: Path
    options: tuple[tuple[str, str], ...] = ()
    base: Path = Path()  # the folder relative paths in its options start from (the manifest's)


@dataclass(frozen=True)
class Outcome:
    path: Path
    status: str  # one of STATUSES
    detail: str = ""  # the error of a failed load; else what was loaded
    records: int = 0
    seconds: float = 0.0


@dataclass
class BatchReport:
    outcomes: list[Outcome] = field(default_factory=list)
    not_started: int = 0  # files left when the batch was interrupted

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def genomes_in(
    paths: Sequence[Path], manifest: Path | None = None, option_columns: Sequence[str] = ()
) -> list[Genome]:
    """The files to load: ``paths`` (files, or folders searched recursively) and the rows of
    ``manifest``, each file once, in order. A manifest column other than ``path`` must be one
    of ``option_columns``."""
    if not paths and manifest is None:
        raise InvalidInputError("nothing to load: give VCF/BCF files, folders or --manifest")
    found: dict[Path, Genome] = {}
    for path in paths:
        if path.is_dir():
            for file in _genome_files(path):
                found.setdefault(file.resolve(), Genome(file))
        elif path.is_file():
            found.setdefault(path.resolve(), Genome(path))
        else:
            raise InvalidInputError(f"{path}: no such file or folder")
    if manifest is not None:
        for genome in _manifest_rows(manifest, option_columns):
            found.setdefault(genome.path.resolve(), genome)
    if not found:
        where = ", ".join(str(p) for p in [*paths, *([manifest] if manifest else [])])
        raise InvalidInputError(f"no VCF/BCF files in {where} ({', '.join(GENOME_SUFFIXES)})")
    return list(found.values())


def _genome_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(GENOME_SUFFIXES)
    )


def _manifest_rows(manifest: Path, option_columns: Sequence[str]) -> Iterator[Genome]:
    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"{manifest}: cannot read the manifest ({exc.strerror})") from exc
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    columns = rows.fieldnames or []
    if "path" not in columns:
        raise InvalidInputError(f"{manifest}: a manifest needs a 'path' column (tab-separated)")
    unknown = [c for c in columns if c != "path" and c not in option_columns]
    if unknown:
        known = ", ".join(option_columns) or "none"
        raise InvalidInputError(
            f"{manifest}: unknown column {unknown[0]!r} (per-file options: {known})"
        )
    for line, row in enumerate(rows, start=2):
        name = (row.get("path") or "").strip()
        if not name:
            raise InvalidInputError(f"{manifest}:{line}: empty path")
        path = Path(name) if Path(name).is_absolute() else manifest.parent / name
        if not path.is_file():
            raise InvalidInputError(f"{manifest}:{line}: {name}: no such file")
        options = tuple((c, row[c].strip()) for c in columns if c != "path" and row.get(c))
        yield Genome(path, options, manifest.parent)


LoadOne = Callable[[Genome], Outcome]


def run_batch(
    genomes: Sequence[Genome],
    load_one: LoadOne,
    *,
    jobs: int,
    on_done: Callable[[Outcome], None],
    start_worker: Callable[..., None] | None = None,
    worker_args: tuple[Any, ...] = (),
) -> BatchReport:
    """Load ``genomes`` with ``load_one`` (a module-level function, so worker processes can
    run it), ``jobs`` at a time; ``start_worker(*worker_args)`` prepares each worker (or this
    process when ``jobs`` is 1). ``on_done`` hears of every file as it finishes. On an
    interruption (Ctrl-C) the files not started are counted in the report; the loads under
    way finish in worker processes (which ignore Ctrl-C), or are discarded when this process
    loads them itself."""
    report = BatchReport()
    if jobs <= 1:
        if start_worker is not None:
            start_worker(*worker_args)
        for done, genome in enumerate(genomes):
            try:
                outcome = load_one(genome)
            except KeyboardInterrupt:
                report.not_started = len(genomes) - done
                raise BatchInterrupted(report) from None
            report.outcomes.append(outcome)
            on_done(outcome)
        return report
    context = get_context("spawn")  # no engine or lock inherited from this process
    with ProcessPoolExecutor(jobs, context, start_worker, worker_args) as pool:
        waiting = iter(genomes)
        running: set[Future[Outcome]] = set()
        try:
            for genome in waiting:  # at most 2 per worker queued: an interruption stops fast
                running.add(_submit_holding_ctrl_c(pool, load_one, genome))
                if len(running) >= 2 * jobs:
                    running = _collect(running, report, on_done)
            while running:
                running = _collect(running, report, on_done)
        except KeyboardInterrupt:  # workers ignore it: the loads under way finish
            report.not_started = sum(1 for _ in waiting) + sum(1 for f in running if f.cancel())
            pool.shutdown(wait=True, cancel_futures=True)
            for future in running:
                if not future.cancelled():
                    report.outcomes.append(future.result())
            raise BatchInterrupted(report) from None
    return report


def _submit_holding_ctrl_c(
    pool: ProcessPoolExecutor, load_one: LoadOne, genome: Genome
) -> Future[Outcome]:
    """Submit with SIGINT blocked: a worker process this starts inherits the block, so a
    Ctrl-C during its start-up (before it ignores SIGINT) cannot print a traceback; a Ctrl-C
    meanwhile reaches this process when the block is lifted."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(load_one, genome)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _collect(
    running: set[Future[Outcome]], report: BatchReport, on_done: Callable[[Outcome], None]
) -> set[Future[Outcome]]:
    finished, pending = wait(running, return_when=FIRST_COMPLETED)
    for future in finished:
        outcome = future.result()
        report.outcomes.append(outcome)
        on_done(outcome)
    return pending


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch, with what was done by then."""

    def __init__(self, report: BatchReport) -> None:
        super().__init__()
        self.report = report
