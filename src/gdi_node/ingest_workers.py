"""The worker side of ``gdi-node ingest vcf`` on many files (gdi_node.beacon.ingest.folder_load):
each worker process opens its own engine on the database the command already migrated, then
loads one file per call. Wiring: it reads settings and builds sessions, which the Beacon's
ingest layer never does itself."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.folder_load import Genome, Outcome
from gdi_node.beacon.ingest.genome_group import GenomeLoad
from gdi_node.beacon.ingest.sample_sheet import SampleInfo
from gdi_node.beacon.store.load_lease import leases_for
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.errors import DomainError, InvalidInputError

log = logging.getLogger(__name__)


# manifest columns that set a file's own load options: ``absent`` (ref or nocall) overrides
# ``--absent`` for that file (gdi_node.beacon.ingest.callability); ``callable_bed`` (relative to
# the manifest) is its sample's callable-regions BED, in place of ``--absent`` (decision 0024)
MANIFEST_OPTIONS = ("absent", "callable_bed")


@dataclass(frozen=True)
class BatchOptions:
    """What every file of the batch is loaded with (``ingest vcf``'s options)."""

    dataset_id: str
    assembly_id: str
    sample_sheet: Path | None
    update: bool
    callability: Callability = field(default_factory=Callability)

    def callability_of(self, genome: Genome) -> Callability:
        """The batch's callability, with the file's manifest ``absent`` and ``callable_bed``
        if it gives them (a row's BED replaces the batch's ``--absent``)."""
        absent, bed = dict(genome.options).get("absent"), dict(genome.options).get("callable_bed")
        if bed:
            return replace(self.callability, absent=absent, callable_bed=genome.base / bed)
        return replace(self.callability, absent=absent) if absent else self.callability


@dataclass(frozen=True)
class _Worker:
    sessions: sessionmaker[Session]
    options: BatchOptions
    sheet: dict[str, SampleInfo]  # the batch's sample sheet, read once by the batch


# this process's sessions, options and sheet, set by start_worker
_WORKER: dict[str, _Worker] = {}


def start_worker(settings_json: str, options: BatchOptions, sheet: dict[str, SampleInfo]) -> None:
    """Prepare this process: sessions on the node's database, the batch's options and sample
    sheet (one sheet names the samples of every file of the batch)."""
    if multiprocessing.parent_process() is not None:  # a worker: the batch's process stops it
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C lets its load finish
    settings = Settings.model_validate_json(settings_json)
    engine = make_engine(settings.effective_database_url)
    _WORKER["batch"] = _Worker(make_session_factory(engine), options, sheet)


def read_genome_file(genome: Genome) -> Outcome | GenomeLoad:
    """In a worker: read a single-sample file into a genome to write; load a multi-sample
    file here on its own. Errors as one line in an Outcome, never raised."""
    from gdi_node.beacon.ingest.genome_reader import read_genome, sample_count
    from gdi_node.beacon.ingest.vcf import VcfIngestor, wanted_for
    from gdi_node.beacon.model.assemblies import known_assemblies

    if "batch" not in _WORKER:
        raise RuntimeError("start_worker was not called in this process")
    worker = _WORKER["batch"]
    options = worker.options
    began = time.perf_counter()
    try:
        if sample_count(genome.path) != 1:
            result = VcfIngestor(worker.sessions).ingest(
                genome.path,
                options.dataset_id,
                assembly_id=options.assembly_id,
                sample_sheet=worker.sheet,
                update=options.update,
                callability=options.callability_of(genome),
            )
            detail = f"{result.records:,} records, {result.alleles:,} alleles"
            return Outcome(genome.path, result.status, detail, result.records, result.seconds)
        assembly = known_assemblies().get(options.assembly_id)
        if assembly is None:
            raise InvalidInputError(f"unknown assembly {options.assembly_id!r}")
        calls = read_genome(genome.path, assembly, options.callability_of(genome))
        wanted = wanted_for(
            genome.path, [calls.sample], dataset_id=options.dataset_id, assembly=assembly,
            sample_sheet=worker.sheet, update=options.update, mode=calls.mode,
            sha256=calls.sha256,
        )  # fmt: skip
    except DomainError as exc:
        return Outcome(genome.path, "failed", exc.message)
    except Exception:  # a bug: logged with its traceback, reported as one line
        log.exception("loading %s failed", genome.path)
        return Outcome(genome.path, "failed", "internal error (logged)")
    return GenomeLoad(calls, wanted, time.perf_counter() - began)


class GroupWriter:
    """In the batch's process: writes the genomes the workers read, a group at a time
    (gdi_node.beacon.ingest.genome_group), on sessions of its own."""

    def __init__(self, settings: Settings) -> None:
        self._engine = make_engine(settings.effective_database_url)
        self._sessions = make_session_factory(self._engine)
        self._leases = leases_for(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def __call__(self, loads: list[GenomeLoad]) -> list[Outcome]:
        from gdi_node.beacon.ingest.genome_group import load_group

        began = time.perf_counter()
        try:
            written = load_group(self._sessions, self._leases, loads)
        except DomainError as exc:  # the whole group: e.g. the dataset is not declared
            return [Outcome(load.calls.path, "failed", exc.message) for load in loads]
        share = (time.perf_counter() - began) / len(loads)
        outcomes = []
        for one in written.outcomes:
            detail = one.detail or f"{one.records:,} records, {one.alleles:,} alleles"
            seconds = one.load.read_seconds + share
            outcomes.append(Outcome(one.load.calls.path, one.status, detail, one.records, seconds))
        return outcomes
