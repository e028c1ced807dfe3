"""The worker side of ``gdi-node ingest vcf`` on many files (gdi_node.beacon.ingest.folder_load):
each worker process opens its own engine on the database the command already migrated, then
loads one file per call. Wiring: it reads settings and builds sessions, which the Beacon's
ingest layer never does itself."""

from __future__ import annotations

import logging
import multiprocessing
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.folder_load import Genome, Outcome
from gdi_node.beacon.ingest.sample_sheet import SampleInfo
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.errors import DomainError

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


def load_genome(genome: Genome) -> Outcome:
    """Load one file (its own load: whole or nothing); its error as one line, never raised."""
    from gdi_node.beacon.ingest.vcf import VcfIngestor

    if "batch" not in _WORKER:
        raise RuntimeError("start_worker was not called in this process")
    worker = _WORKER["batch"]
    options = worker.options
    try:
        result = VcfIngestor(worker.sessions).ingest(
            genome.path,
            options.dataset_id,
            assembly_id=options.assembly_id,
            sample_sheet=worker.sheet,
            update=options.update,
            callability=options.callability_of(genome),
        )
    except DomainError as exc:
        return Outcome(genome.path, "failed", exc.message)
    except Exception:  # a bug: logged with its traceback, reported as one line
        log.exception("loading %s failed", genome.path)
        return Outcome(genome.path, "failed", "internal error (logged)")
    detail = f"{result.records:,} records, {result.alleles:,} alleles"
    return Outcome(genome.path, result.status, detail, result.records, result.seconds)
