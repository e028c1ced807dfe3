"""``gdi-node ingest vcf``: load a VCF/BCF into the allele-frequency database.

Queries see a load whole or not at all, and keep being answered while it runs: rows are
written in short transactions under a callset that queries leave out, and shown in one short
transaction at the end (gdi_node.beacon.ingest.callset_load, decision record 0014). A failed or
interrupted load shows nothing and deletes what it wrote (a killed one is removed by the next
load). Loading the same file (by content) into the same dataset again changes nothing; a file
of the same name with other content needs ``update=True`` and replaces the earlier load, which
queries see until the new one is shown. Memory stays bounded: records are read one at a time
(htslib through cyvcf2) and written in batches.

Multi-allelic records are split: every alternate allele is one stored variant of the dataset
(one row whatever files bring it, decision record 0020) into whose carrier slices the load ORs
its samples' bits (gdi_node.beacon.model.carriers), with annotations
(gdi_node.beacon.model.annotations) and terms.

How a site absent from a file counts is its mode (gdi_node.beacon.ingest.callability, decision
record 0021): ``joint`` for a multi-sample file, ``gvcf`` for a file with reference blocks (its
gaps are stored), else what ``--absent`` or a callable-regions BED states (a single-sample
file only: the BED's complement is stored as gaps, gdi_node.beacon.ingest.genome_reader,
decision record 0024); a single-sample VCF without any statement is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from cyvcf2 import VCF
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.allele_rows import (
    PLACEHOLDER_ALTS,
    annotation_formats,
    describe_allele,
    record_annotations,
)
from gdi_node.beacon.ingest.callability import (
    Callability,
    Gap,
    GapTracker,
    is_block,
    passing,
)
from gdi_node.beacon.ingest.callset_load import (
    Started,
    Unchanged,
    Wanted,
    Written,
    discard_load,
    show_load,
    start_load,
    write_step,
)
from gdi_node.beacon.ingest.genome_group import GenomeLoad, load_group
from gdi_node.beacon.ingest.genome_reader import GenomeCalls, read_genome
from gdi_node.beacon.ingest.sample_sheet import SampleInfo, read_sample_sheet
from gdi_node.beacon.model import carriers
from gdi_node.beacon.model.annotations import AnnotationFormat
from gdi_node.beacon.model.assemblies import Assembly, known_assemblies
from gdi_node.beacon.model.spans import Spans
from gdi_node.beacon.store.callsets import delete_in_steps, remove_hidden
from gdi_node.beacon.store.load_lease import leases_for
from gdi_node.beacon.store.uncalled import write_gaps
from gdi_node.beacon.store.variant_writes import (
    BatchWritten,
    NewAllele,
    refresh_statistics,
    write_alleles,
)
from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.storage.checksums import digest_file

Progress = Callable[[int, int], None]  # (records read, alleles written)


@dataclass(frozen=True)
class VcfIngestResult:
    callset_id: int
    name: str
    status: str  # loaded, unchanged, replaced
    samples: int
    records: int
    alleles: int
    seconds: float
    slices: int = 0  # carrier slice rows written (one per allele for a single genome)

    @property
    def genotypes(self) -> int:
        return self.samples * self.records


def _open(path: Path) -> VCF:
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}")
    try:
        return VCF(str(path), lazy=True, threads=1)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not a readable VCF/BCF file: {exc}") from exc


class VcfIngestor:
    """Loads VCF/BCF files; ``batch_size`` alleles are written per transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        batch_size: int = 2000,
        progress: Progress | None = None,
    ) -> None:
        self._sessions = sessions
        self._batch_size = batch_size
        self._progress = progress or (lambda _records, _alleles: None)
        self._slices = 0

    def ingest(
        self,
        path: Path,
        dataset_id: str,
        *,
        assembly_id: str = "GRCh38",
        sample_sheet: Path | Mapping[str, SampleInfo] | None = None,
        update: bool = False,
        callability: Callability | None = None,
    ) -> VcfIngestResult:
        """Load ``path`` into ``dataset_id``; ``callability`` says how sites absent from it
        count (gdi_node.beacon.ingest.callability: needed for a single-sample VCF without
        reference blocks). ``sample_sheet`` is this file's sheet (every row must name one of
        its samples, and loading the same file again applies it), or a batch's sheet already
        read (gdi_node.beacon.ingest.folder_load: rows of other files' samples are skipped,
        and the same file again is unchanged)."""
        began = time.perf_counter()
        callability = callability or Callability()
        assembly = known_assemblies().get(assembly_id)
        if assembly is None:
            raise InvalidInputError(
                f"unknown assembly {assembly_id!r}; known: {', '.join(known_assemblies().ids)}"
            )
        vcf = _open(path)
        names: list[str] = list(vcf.samples)
        if len(names) == 1:  # one genome: read on its own, written as a group of one
            vcf.close()
            calls = read_genome(path, assembly, callability)
            wanted = wanted_for(
                path, names, dataset_id=dataset_id, assembly=assembly, sample_sheet=sample_sheet,
                update=update, mode=calls.mode, sha256=calls.sha256,
            )  # fmt: skip
            return self._ingest_genome(calls, wanted, began)
        mode = callability.mode(path, len(names))
        wanted = wanted_for(
            path, names, dataset_id=dataset_id, assembly=assembly, sample_sheet=sample_sheet,
            update=update, mode=mode, sha256=digest_file(path).sha256,
        )  # fmt: skip
        leases = leases_for(_engine(self._sessions))
        remove_hidden(self._sessions, leases)
        try:
            started = start_load(self._sessions, wanted, leases)
        except Unchanged as same:
            return _unchanged(path.name, same)
        try:
            written = self._load_records(started, vcf, assembly, callability)
            replaced = show_load(self._sessions, started, written)
        except Unchanged as same:  # another load showed the same content meanwhile
            discard_load(self._sessions, [started.callset_id], started.lease)
            return _unchanged(path.name, same)
        except BaseException:
            discard_load(self._sessions, [started.callset_id], started.lease)
            raise
        started.lease.release()
        for callset_id in replaced:
            delete_in_steps(self._sessions, callset_id)
        refresh_statistics(self._sessions)
        return VcfIngestResult(
            started.callset_id, path.name, "replaced" if replaced else "loaded",
            len(names), written.records, written.alleles, time.perf_counter() - began,
            self._slices,
        )  # fmt: skip

    def _ingest_genome(self, calls: GenomeCalls, wanted: Wanted, began: float) -> VcfIngestResult:
        """A single-sample file: gdi_node.beacon.ingest.genome_group with one genome."""
        leases = leases_for(_engine(self._sessions))
        group = load_group(
            self._sessions, leases, [GenomeLoad(calls, wanted)], batch_size=self._batch_size,
            progress=lambda alleles: self._progress(calls.records, alleles),
        )  # fmt: skip
        (outcome,) = group.outcomes
        if outcome.error is not None:
            raise outcome.error
        self._progress(calls.records, outcome.alleles)
        return VcfIngestResult(
            outcome.callset_id or 0, calls.name, outcome.status, 1, outcome.records,
            outcome.alleles, 0.0 if outcome.status == "unchanged" else time.perf_counter() - began,
            group.slices,
        )  # fmt: skip

    def _load_records(
        self,
        started: Started,
        vcf: VCF,
        assembly: Assembly,
        callability: Callability,
    ) -> Written:
        """Read the records and write their alleles (and a gVCF's gaps), one transaction per
        batch."""
        formats = annotation_formats(vcf)
        mode = started.wanted.mode
        target = _Target(started.wanted.dataset_id, assembly, started.bits, mode)
        gaps = GapTracker(len(started.bits)) if mode == "gvcf" else None
        records = alleles = span = 0
        self._slices = 0
        spans = Spans()
        batch: list[NewAllele] = []
        for record in _records(vcf):
            records += 1
            _cover(spans, record, assembly)
            counted = callability.counts_filter(record.FILTER)
            if gaps is not None:
                ok = passing(record, callability, len(started.bits)) & counted
                if is_block(record):
                    chrom = assembly.canonical(record.CHROM) or record.CHROM
                    gaps.called(chrom, record.POS - 1, int(record.INFO["END"]), ok)
                    continue
                _mask(record, target, ok, gaps)
            for allele in _alleles(record, target, formats, counted=counted):
                batch.append(allele)
                span = max(span, allele.row["end"] - allele.row["start"])
            if len(batch) >= self._batch_size:
                alleles += self._write(started, batch, gaps.take() if gaps else [])
                batch = []
                self._progress(records, alleles)
        if batch or gaps is not None:
            alleles += self._write(started, batch, gaps.finish() if gaps else [])
        self._progress(records, alleles)
        return Written(records, alleles, span, spans)

    def _write(self, started: Started, batch: list[NewAllele], gaps: list[Gap]) -> int:
        wanted, bits = started.wanted, started.bits
        placed = [(chrom, start, end, int(bits[i])) for chrom, start, end, i in gaps]

        def write(session: Session) -> BatchWritten:
            write_gaps(session, started.callset_id, wanted.dataset_id, wanted.assembly, placed)
            return write_alleles(session, batch)

        written = write_step(self._sessions, started, write)
        self._slices += written.slices
        return written.alleles


def wanted_for(
    path: Path,
    names: list[str],
    *,
    dataset_id: str,
    assembly: Assembly,
    sample_sheet: Path | Mapping[str, SampleInfo] | None,
    update: bool,
    mode: str,
    sha256: str,
) -> Wanted:
    """What loading ``path`` asks for; its sample sheet is the file's own (every row must name
    one of its samples) or a batch's (rows of other files' samples are skipped)."""
    if isinstance(sample_sheet, Mapping):
        sheet = {name: sample_sheet[name] for name in names if name in sample_sheet}
    else:
        sheet = read_sample_sheet(sample_sheet) if sample_sheet else {}
    missing = sorted(set(sheet) - set(names))
    if missing:
        raise InvalidInputError(
            f"the sample sheet names samples not in {path.name}: {', '.join(missing[:10])}"
        )
    return Wanted(
        dataset_id=dataset_id,
        name=path.name,
        sha256=sha256,
        assembly=assembly.id,
        samples=[sheet.get(name) or SampleInfo.plain(name) for name in names],
        from_sheet=bool(sheet) and not isinstance(sample_sheet, Mapping),
        update=update,
        mode=mode,
    )


def _engine(sessions: sessionmaker[Session]) -> Engine:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("VcfIngestor needs sessions bound to an engine")
    return bind


def _unchanged(name: str, same: Unchanged) -> VcfIngestResult:
    return VcfIngestResult(
        same.callset_id, name, "unchanged", same.samples, same.records, same.alleles, 0.0
    )


def _cover(spans: Spans, record: Any, assembly: Assembly) -> None:
    """Add the positions a record speaks for (its REF, or a reference block to its END)."""
    start = record.POS - 1
    end = max(start + len(record.REF), int(record.INFO.get("END") or 0))
    spans.add(assembly.canonical(record.CHROM) or record.CHROM, start, end)


def _records(vcf: VCF) -> Iterator[Any]:
    try:
        yield from vcf
    except Exception as exc:  # htslib reports a malformed record as a generic error
        raise InvalidInputError(f"the VCF cannot be read to the end: {exc}") from exc


@dataclass(frozen=True)
class _Target:
    dataset_id: str
    assembly: Assembly
    bits: npt.NDArray[np.uint32]  # the samples' bits, in column order
    mode: str  # gdi_node.db.models.BeaconCallset.mode
    # gVCF: per record (by id, while it is read), the samples whose genotypes count
    masked: dict[int, npt.NDArray[np.bool_]] = field(default_factory=dict)


def _mask(record: Any, target: _Target, ok: npt.NDArray[np.bool_], gaps: GapTracker) -> None:
    """gVCF: a variant record's REF span is called for its samples with a passing, called
    genotype; the others are gaps there (not no-calls) and their genotypes are left out."""
    genotypes = record.genotype
    start = record.POS - 1
    chrom = target.assembly.canonical(record.CHROM) or record.CHROM
    if genotypes is None:
        gaps.seen(chrom, start, start + len(record.REF))
        return
    calls = genotypes.array()[:, :-1]
    called = ok & (carriers.called_alleles(calls) > 0)
    gaps.called(chrom, start, start + len(record.REF), called)
    target.masked[id(record)] = called


def _alleles(
    record: Any, target: _Target, formats: Sequence[AnnotationFormat], *, counted: bool = True
) -> Iterator[NewAllele]:
    """The record's alleles with their carriers' bits; a record whose FILTER is not counted
    (gdi_node.beacon.ingest.callability) carries nobody: its samples are no-calls there (in a
    gVCF, gaps). Counted records name their FILTER in the allele's annotation."""
    alts: list[str] = list(record.ALT)
    if not alts or alts == ["."]:
        return  # a reference-only (gVCF-style) record: nothing to count
    assembly, bits = target.assembly, target.bits
    chrom = assembly.canonical(record.CHROM) or record.CHROM
    start = record.POS - 1
    ref: str = record.REF
    genotypes = record.genotype
    if genotypes is None or not len(bits):
        return  # no genotypes: nobody to count
    calls = genotypes.array()[:, :-1]
    try:
        called = carriers.called_alleles(calls)
    except carriers.PloidyError as exc:
        raise InvalidInputError(f"{record.CHROM}:{record.POS}: {exc}") from exc
    masked = target.masked.pop(id(record), None)
    if masked is not None:  # gVCF: the others are gaps, not no-calls
        calls = np.where(masked[:, None], calls, np.int16(-1))
        called = np.where(masked, called, np.int8(2))
    elif not counted:  # a filtered record of another file: its genotypes are no-calls
        calls = np.full_like(calls, -1)
        called = np.zeros_like(called)
    no_call = carriers.bitmap_of(bits[called == 0])
    half_call = carriers.bitmap_of(bits[called == 1])
    annotations = record_annotations(record, alts, formats, counted=counted)
    end_info = record.INFO.get("END")
    for k, alt in enumerate(alts, start=1):
        if alt in PLACEHOLDER_ALTS:
            continue  # spanning deletions and gVCF placeholders are not alleles of this site
        copies = carriers.copies_of(calls, k)
        held = carriers.AlleleBits(
            one_copy=carriers.bitmap_of(bits[copies == 1]),
            two_copies=carriers.bitmap_of(bits[copies == 2]),
            no_call=no_call,
            half_call=half_call,
        )
        if target.mode == "absent_nocall":  # called here without a copy of this allele
            held.ref_called = carriers.bitmap_of(bits[(called == 2) & (copies == 0)])
        described = describe_allele(
            assembly, chrom, pos=record.POS, ref=ref, alt=alt, end_info=end_info,
            note=annotations[k - 1],
        )  # fmt: skip
        row = {
            "dataset_id": target.dataset_id,
            "assembly": assembly.id,
            "chrom": chrom,
            "start": start,
            "end": described.end,
            "ref": ref,
            "alt": alt,
            "variant_type": described.variant_type,
            "annotation": described.annotation,
        }
        terms = list(described.terms)
        yield NewAllele(row, held, terms)
