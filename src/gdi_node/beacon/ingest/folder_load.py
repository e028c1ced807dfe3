"""Loading a folder of genomes (issue #18): the national database receives pipeline output per
genome, placed in folders, so ``gdi-node ingest vcf`` takes many files, folders or a manifest,
loads them on every core and can be run again after an interruption.

- **What is loaded.** Each path is a VCF/BCF file or a folder searched recursively for them
  (``.vcf.gz``, ``.vcf.bgz``, ``.vcf``, ``.bcf``; indexes and other files are skipped), in
  path order. A manifest is a tab-separated file with a ``path`` column (relative to the
  manifest's folder) and optional columns of per-file load options, one row per file.
- **One callset per file, written in groups.** Worker processes (``jobs``, every core by
  default) read single-sample files (gdi_node.beacon.ingest.genome_reader); this process
  writes them ``GROUP_SIZE`` at a time (gdi_node.beacon.ingest.genome_group), while the
  workers read the next ones. A multi-sample file is loaded by its worker on its own
  (gdi_node.beacon.ingest.vcf). Answers see a genome whole or not at all; a failed or
  killed group is discarded, an interrupted batch finishes the group being written, and a
  file loaded before with the same content is left as it is. So an interrupted batch leaves
  the genomes of finished groups loaded and none half-loaded, and running it again loads
  only what is missing.
- One line per failed file (its path and why); the other files still load.
"""

from __future__ import annotations

import csv
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
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


Read = Any  # what a worker hands back: an Outcome, or a genome read and ready to write
ReadOne = Callable[[Genome], Read]
WriteGroup = Callable[[list[Read]], list[Outcome]]
GROUP_SIZE = 256  # genomes written together (gdi_node.beacon.ingest.genome_group)


def run_batch(
    genomes: Sequence[Genome],
    read_one: ReadOne,
    write_group: WriteGroup,
    *,
    jobs: int,
    on_done: Callable[[Outcome], None],
    start_worker: Callable[..., None] | None = None,
    worker_args: tuple[Any, ...] = (),
    group_size: int = GROUP_SIZE,
) -> BatchReport:
    """Load ``genomes``: ``read_one`` (a module-level function, so worker processes can run
    it) reads a file into a genome to write, or loads it itself and returns its Outcome (a
    multi-sample file, a file that cannot be read); ``write_group`` writes up to
    ``group_size`` genomes read, in this process, while the workers read on.
    ``start_worker(*worker_args)`` prepares each worker (or this process when ``jobs`` is 1).
    ``on_done`` hears of every file as it finishes. On an interruption (Ctrl-C) the group
    being written is finished, the files not written are counted as not started, and the
    reads under way finish in the workers (which ignore Ctrl-C) and are dropped."""
    batch = _Batch(write_group, on_done, group_size)
    if jobs <= 1:
        if start_worker is not None:
            start_worker(*worker_args)
        for done, genome in enumerate(genomes):
            try:
                batch.take(read_one(genome))
            except KeyboardInterrupt:
                batch.report.not_started = len(genomes) - done + batch.dropped()
                raise BatchInterrupted(batch.report) from None
        return batch.finish()
    context = get_context("spawn")  # no engine or lock inherited from this process
    with ProcessPoolExecutor(jobs, context, start_worker, worker_args) as pool:
        waiting = iter(genomes)
        running: set[Future[Read]] = set()
        ahead = group_size + 2 * jobs  # reads queued: the workers read while a group is written
        try:
            for genome in waiting:
                running.add(_submit_holding_ctrl_c(pool, read_one, genome))
                if len(running) >= ahead:
                    running = _collect(running, batch)
            while running:
                running = _collect(running, batch)
            return batch.finish()
        except KeyboardInterrupt:  # workers ignore it: their reads finish and are dropped
            left = sum(1 for _ in waiting) + len(running)
            pool.shutdown(wait=True, cancel_futures=True)
            batch.report.not_started = left + batch.dropped()
            raise BatchInterrupted(batch.report) from None


class _Batch:
    """What the batch has read and not yet written, and what became of each file."""

    def __init__(
        self, write_group: WriteGroup, on_done: Callable[[Outcome], None], group_size: int
    ) -> None:
        self.report = BatchReport()
        self._write_group, self._on_done, self._size = write_group, on_done, group_size
        self._group: list[Read] = []

    def take(self, read: Read) -> None:
        if isinstance(read, Outcome):
            self._done(read)
            return
        self._group.append(read)
        if len(self._group) >= self._size:
            self.write()

    def write(self) -> None:
        """Write the group read; a Ctrl-C meanwhile waits until it is written (or discarded,
        if writing it fails), then stops the batch."""
        group, self._group = self._group, []
        with _ctrl_c_deferred():
            for outcome in self._write_group(group):
                self._done(outcome)

    def dropped(self) -> int:
        """Genomes read but not written (an interruption came before their group)."""
        return len(self._group)

    def finish(self) -> BatchReport:
        if self._group:
            self.write()
        return self.report

    def _done(self, outcome: Outcome) -> None:
        self.report.outcomes.append(outcome)
        self._on_done(outcome)


@contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Run the block to its end; a Ctrl-C meanwhile is raised after it (this process's
    handler, whichever thread the signal reached)."""
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _submit_holding_ctrl_c(
    pool: ProcessPoolExecutor, read_one: ReadOne, genome: Genome
) -> Future[Read]:
    """Submit with SIGINT blocked: a worker process this starts inherits the block, so a
    Ctrl-C during its start-up (before it ignores SIGINT) cannot print a traceback; a Ctrl-C
    meanwhile reaches this process when the block is lifted."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(read_one, genome)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _collect(running: set[Future[Read]], batch: _Batch) -> set[Future[Read]]:
    """Take the reads that finished (a full group is written at once)."""
    finished, pending = wait(running, return_when=FIRST_COMPLETED)
    for future in finished:
        batch.take(future.result())
    return pending


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch, with what was done by then."""

    def __init__(self, report: BatchReport) -> None:
        super().__init__()
        self.report = report
