"""``gdi-node ingest vcf``, ``gdi-node ingest remove`` and ``gdi-node consent``: the Beacon's
loading and consent commands, attached to the main command line by :func:`register`."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from gdi_node.beacon.ingest.folder_load import STATUSES, Genome
from gdi_node.config.settings import Settings
from gdi_node.errors import InvalidInputError
from gdi_node.ingest_workers import MANIFEST_OPTIONS, BatchOptions

Loader = Callable[[Path | None], Settings]
Guard = Callable[[], AbstractContextManager[None]]


class _Progress:
    """Records and alleles loaded, on stderr at most every 2 s (the total is not known)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._began = time.monotonic()
        self._shown = 0.0

    def __call__(self, records: int, alleles: int) -> None:
        now = time.monotonic()
        if now - self._shown < 2:
            return
        self._shown = now
        rate = records / max(now - self._began, 1e-9)
        click.echo(
            f"{self._label}: {records:,} records, {alleles:,} alleles ({rate:,.0f} records/s)",
            err=True,
        )


def register(main: click.Group, ingest: click.Group, load: Loader, guard: Guard) -> None:
    @ingest.command("vcf")
    @click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
    @click.option(
        "--manifest",
        type=click.Path(path_type=Path),
        help="Tab-separated list of files to load: a 'path' column, relative to the manifest;"
        " optional per-file 'absent' and 'callable_bed' columns (a BED path, relative to it).",
    )
    @click.option(
        "--jobs",
        "-j",
        type=click.IntRange(1, 256),
        default=lambda: os.cpu_count() or 1,
        show_default="all cores",
        help="Files read side by side (worker processes) when there are several.",
    )
    @click.option(
        "--group",
        "group_size",
        type=click.IntRange(1, 4096),
        default=256,
        show_default=True,
        help="Single-sample files (genomes) written together: the alleles they share are"
        " written once; Ctrl-C lets the group being written finish.",
    )
    @click.option("--dataset", "dataset_id", required=True, help="Dataset the genotypes belong to.")
    @click.option("--assembly", default="GRCh38", show_default=True, help="GRCh38 or GRCh37.")
    @click.option(
        "--samples",
        "sample_sheet",
        type=click.Path(path_type=Path),
        help="samples.tsv: sample, individual_id, biosample_id, population, cohorts.",
    )
    @click.option(
        "--update",
        is_flag=True,
        help="Replace an earlier load of this file name, or the files of the samples this file"
        " re-analyses (the same biosamples on the same contigs).",
    )
    @click.option(
        "--absent",
        type=click.Choice(["ref", "nocall"]),
        help="How a site absent from the file counts: as reference (ref) or not called (nocall,"
        " called only where the file has a record). A single-sample VCF without reference"
        " blocks needs it or --callable-bed; a multi-sample file is joint-called (absent ="
        " reference).",
    )
    @click.option(
        "--callable-bed",
        type=click.Path(path_type=Path),
        metavar="BED",
        help="Where a single-sample VCF's sample is called (BED, plain or gzipped): absent"
        " inside it is reference; outside it, the sample is not called, its own records there"
        " included. Instead of --absent; for several files, a callable_bed manifest column.",
    )
    @click.option(
        "--min-gq",
        type=click.IntRange(min=0),
        default=20,
        show_default=True,
        help="gVCF: a reference block or call with a lower GQ is not called.",
    )
    @click.option(
        "--min-dp",
        type=click.IntRange(min=0),
        default=10,
        show_default=True,
        help="gVCF: a reference block (MIN_DP, else DP) or call with less depth is not called.",
    )
    @click.option(
        "--count-filter",
        "count_filters",
        multiple=True,
        metavar="NAME",
        help="Also count records with this FILTER (repeatable); by default only PASS and '.'"
        " are counted, and a filtered record's samples count as not called there.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")
    @click.pass_obj
    def ingest_vcf(
        config: Path | None,
        paths: tuple[Path, ...],
        manifest: Path | None,
        jobs: int,
        group_size: int,
        dataset_id: str,
        assembly: str,
        sample_sheet: Path | None,
        update: bool,
        absent: str | None,
        callable_bed: Path | None,
        min_gq: int,
        min_dp: int,
        count_filters: tuple[str, ...],
        as_json: bool,
    ) -> None:
        """Load VCF/BCF files' variants and genotypes into the allele-frequency database.

        PATHS are files, or folders searched for .vcf.gz/.vcf.bgz/.vcf/.bcf files. Each file
        is its own load: answers see it whole or not at all (the node may serve meanwhile);
        interrupted or failed, nothing of it is shown and what was written is deleted.
        Single-sample files (one genome each) are read on every core and written in groups. The same
        file twice changes nothing, so a batch run again loads only what is missing.
        Multi-allelic records are split; ANN (SnpEff) and CSQ (VEP) are read. A gVCF's
        reference blocks (<NON_REF> or <*> with END) say where its sample is called; for a
        single-sample VCF, --absent or --callable-bed says it.
        """
        from gdi_node.beacon.ingest.callability import Callability
        from gdi_node.beacon.ingest.folder_load import genomes_in
        from gdi_node.beacon.ingest.vcf import VcfIngestor
        from gdi_node.bootstrap import migrated_sessions

        settings = load(config)
        callability = Callability(
            absent=absent, callable_bed=callable_bed, min_gq=min_gq, min_dp=min_dp,
            count_filters=frozenset(count_filters),
        )  # fmt: skip
        with guard():
            genomes = genomes_in(paths, manifest, option_columns=MANIFEST_OPTIONS)
        if len(genomes) > 1 or manifest is not None or any(p.is_dir() for p in paths):
            if callable_bed is not None:
                with guard():
                    raise InvalidInputError(
                        "--callable-bed is one sample's BED, for one file: give each file its"
                        " own in a callable_bed column of --manifest"
                    )
            options = BatchOptions(dataset_id, assembly, sample_sheet, update, callability)
            _load_batch(
                settings, genomes, options, jobs=jobs, group_size=group_size, as_json=as_json,
                guard=guard,
            )  # fmt: skip
            return
        path = genomes[0].path
        with guard(), migrated_sessions(settings) as sessions:
            ingestor = VcfIngestor(sessions, progress=_Progress(path.name))
            result = ingestor.ingest(
                path,
                dataset_id,
                assembly_id=assembly,
                sample_sheet=sample_sheet,
                update=update,
                callability=callability,
            )
        if as_json:
            click.echo(json.dumps({**asdict(result), "genotypes": result.genotypes}, indent=2))
            return
        rate = result.genotypes / result.seconds if result.seconds else 0.0
        click.echo(
            f"{result.status} {result.name} into {dataset_id}: {result.records:,} records,"
            f" {result.alleles:,} alleles, {result.samples:,} samples"
            + (f" in {result.seconds:.1f} s ({rate:,.0f} genotypes/s)" if result.seconds else "")
        )

    _register_remove(ingest, load, guard)
    _register_metadata(ingest, load, guard)
    _register_consent(main, load, guard)


def _load_batch(
    settings: Settings,
    genomes: list[Genome],
    options: BatchOptions,
    *,
    jobs: int,
    group_size: int,
    as_json: bool,
    guard: Guard,
) -> None:
    """Load many files, ``jobs`` at a time, with one progress bar; a line per failed file, and
    exit status 1 if any failed (the others are loaded)."""
    from gdi_node.beacon.ingest.folder_load import BatchInterrupted, Outcome, run_batch
    from gdi_node.beacon.ingest.sample_sheet import read_sample_sheet
    from gdi_node.bootstrap import prepare_database
    from gdi_node.ingest_workers import GroupWriter, read_genome_file, start_worker

    with guard():
        prepare_database(settings)  # once, before any worker opens the database
        # read once here (its errors as one line), handed to every worker
        sheet = read_sample_sheet(options.sample_sheet) if options.sample_sheet else {}
    began = time.monotonic()
    jobs = min(jobs, len(genomes))
    bar = click.progressbar(
        length=len(genomes),
        label=f"loading {len(genomes):,} files into {options.dataset_id} ({jobs} at a time)",
        file=sys.stderr,
        show_pos=True,
        show_eta=True,
    )

    def done(outcome: Outcome) -> None:
        bar.update(1)
        if outcome.status == "failed":
            click.echo(f"\nfailed {outcome.path}: {outcome.detail}", err=True)

    writer = GroupWriter(settings)
    try:
        with bar:
            report = run_batch(
                genomes,
                read_genome_file,
                writer,
                jobs=jobs,
                group_size=group_size,
                on_done=done,
                start_worker=start_worker,
                worker_args=(settings.model_dump_json(), options, sheet),
            )
    except BatchInterrupted as stopped:
        report = stopped.report
        click.echo(
            f"interrupted: {report.count('loaded') + report.count('replaced'):,} files loaded,"
            f" {report.not_started:,} not loaded; none is half-loaded (the group being written"
            " was finished). Run the same command again to load what is missing.",
            err=True,
        )
        raise SystemExit(130) from None
    finally:
        writer.close()
    seconds = time.monotonic() - began
    if as_json:
        click.echo(json.dumps([asdict(o) | {"path": str(o.path)} for o in report.outcomes]))
    else:
        counts = ", ".join(f"{report.count(s):,} {s}" for s in STATUSES if report.count(s))
        click.echo(f"{len(genomes):,} files into {options.dataset_id}: {counts} in {seconds:.1f} s")
    if report.failed:
        raise SystemExit(1)


def _register_consent(main: click.Group, load: Loader, guard: Guard) -> None:
    @main.group()
    def consent() -> None:
        """Research consent: opt-outs take effect in every Beacon answer and file at once."""

    def _ids(individuals: tuple[str, ...], file: Path | None) -> list[str]:
        from gdi_node.beacon.ingest.consent import read_id_file

        return [*individuals, *(read_id_file(file) if file else [])]

    def _report(change: Any, verb: str) -> None:
        for individual in change.changed:
            click.echo(f"{verb} {individual}")
        for individual in change.unchanged:
            click.echo(f"unchanged {individual}")
        for individual in change.not_loaded:
            click.echo(
                f"note: {individual} has no genotyped sample or individual record loaded (yet)",
                err=True,
            )

    @consent.command("opt-out")
    @click.option("--individual", "individuals", multiple=True, help="Individual id (repeatable).")
    @click.option("--file", type=click.Path(path_type=Path), help="One individual id per line.")
    @click.option("--reason", default="", help="Recorded with the opt-out.")
    @click.pass_obj
    def opt_out(
        config: Path | None, individuals: tuple[str, ...], file: Path | None, reason: str
    ) -> None:
        """Leave individuals out of every research answer and withhold their files (DRS,
        htsget), from the next request on."""
        from gdi_node.beacon.ingest.consent import ConsentRegistry
        from gdi_node.bootstrap import migrated_sessions

        with guard(), migrated_sessions(load(config)) as sessions:
            change = ConsentRegistry(sessions).opt_out(_ids(individuals, file), reason)
        _report(change, "opted-out")

    @consent.command("opt-in")
    @click.option("--individual", "individuals", multiple=True, help="Individual id (repeatable).")
    @click.option("--file", type=click.Path(path_type=Path), help="One individual id per line.")
    @click.pass_obj
    def opt_in(config: Path | None, individuals: tuple[str, ...], file: Path | None) -> None:
        """Restore individuals who opted out."""
        from gdi_node.beacon.ingest.consent import ConsentRegistry
        from gdi_node.bootstrap import migrated_sessions

        with guard(), migrated_sessions(load(config)) as sessions:
            change = ConsentRegistry(sessions).opt_in(_ids(individuals, file))
        _report(change, "opted-in")

    @consent.command("list")
    @click.pass_obj
    def consent_list(config: Path | None) -> None:
        """Individuals currently opted out."""
        from gdi_node.beacon.ingest.consent import ConsentRegistry
        from gdi_node.bootstrap import migrated_sessions

        with guard(), migrated_sessions(load(config)) as sessions:
            rows = ConsentRegistry(sessions).opted_out()
        for individual, when, reason in rows:
            click.echo(f"{individual}\t{when}\t{reason}")


def _register_metadata(ingest: click.Group, load: Loader, guard: Guard) -> None:
    @ingest.command("metadata")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option("--dataset", "dataset_id", required=True, help="Dataset the records belong to.")
    @click.option(
        "--entry-type",
        help="Entry type of every file (individuals, biosamples, runs, analyses, cohorts,"
        " datasets); by default from each file's name. Phenopackets are recognised.",
    )
    @click.option(
        "--accept-invalid",
        is_flag=True,
        help="Load records that break the Beacon v2 model schemas, reporting each violation.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")
    @click.pass_obj
    def ingest_metadata(
        config: Path | None,
        paths: tuple[Path, ...],
        dataset_id: str,
        entry_type: str | None,
        accept_invalid: bool,
        as_json: bool,
    ) -> None:
        """Load Beacon Friendly Format or Phenopackets v2 JSON records into a dataset.

        Every record is validated against the Beacon v2.1.1 default-model schemas and its
        links (individualId, biosampleId) checked before anything is written; one problem and
        nothing is loaded. Records replace earlier ones with the same id: the same files twice
        leave the same state.
        """
        from gdi_node.beacon.ingest.metadata import MetadataIngestor
        from gdi_node.bootstrap import migrated_sessions

        settings = load(config)
        with guard(), migrated_sessions(settings) as sessions:
            result = MetadataIngestor(sessions).ingest(
                list(paths), dataset_id, entry_type=entry_type, accept_invalid=accept_invalid
            )
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        if as_json:
            click.echo(json.dumps(asdict(result), indent=2))
            return
        for name, status in result.variants.items():
            click.echo(f"{dataset_id}: {name} {status}")
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.loaded.items()))
        click.echo(
            f"{dataset_id}: {kinds or 'no records'} ({result.added} added, {result.replaced}"
            f" replaced, {result.unchanged} unchanged"
            + (f", {len(result.warnings)} schema violations accepted" if result.warnings else "")
            + ")"
        )


def _register_remove(ingest: click.Group, load: Loader, guard: Guard) -> None:
    @ingest.command("remove")
    @click.option("--dataset", "dataset_id", required=True, help="Dataset to withdraw from.")
    @click.option("--sample", "biosample_id", help="Withdraw this biosample's genome.")
    @click.option("--file", "file_name", help="Withdraw the file loaded under this name.")
    @click.pass_obj
    def ingest_remove(
        config: Path | None, dataset_id: str, biosample_id: str | None, file_name: str | None
    ) -> None:
        """Withdraw a genome (every file holding the biosample) or one loaded file; answers
        leave it out from the next query on, other genomes stay as they are."""
        from gdi_node.beacon.ingest.withdraw import withdraw
        from gdi_node.bootstrap import migrated_sessions

        if (biosample_id is None) == (file_name is None):
            raise click.UsageError("give --sample BIOSAMPLE or --file NAME")
        with guard(), migrated_sessions(load(config)) as sessions:
            done = withdraw(sessions, dataset_id, biosample_id=biosample_id, file_name=file_name)
        for name in done.files:
            click.echo(f"withdrew {name} from {dataset_id}")
