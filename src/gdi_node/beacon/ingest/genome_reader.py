"""One genome's file read on its own (issue #18): the national database receives one
single-sample VCF or gVCF per genome, and reading it, not writing it, is most of a load's
work. :func:`read_genome` reads such a file, in a worker process, into what the load writes
(:class:`GenomeCalls`: its alleles with how its sample holds each, its gaps, its spans),
without knowing the database, so that many genomes are written together
(gdi_node.beacon.ingest.genome_group).

It applies the rules of a multi-sample load (gdi_node.beacon.ingest.vcf; VCF 4.3 §1.6.1-2,
callability modes of decision record 0021, the filter policy) to one sample with scalars
instead of per-sample arrays: the same rows, carriers and gaps, about ten times faster
(``tests/unit/test_beacon_genome_reader.py`` checks both ways agree record by record).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from cyvcf2 import VCF

from gdi_node.beacon.ingest.allele_rows import (
    PLACEHOLDER_ALTS,
    Term,
    annotation_formats,
    describe_allele,
    record_annotations,
)
from gdi_node.beacon.ingest.callability import BLOCK_ALTS, Callability
from gdi_node.beacon.ingest.callable_bed import (
    CallableRegions,
    load_digest,
    read_callable_bed,
    uncalled_outside,
)
from gdi_node.beacon.model.assemblies import Assembly
from gdi_node.beacon.model.spans import Spans
from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.storage.checksums import digest_file

# how the sample holds an allele (gdi_node.beacon.model.carriers.AlleleBits, one flag each)
ONE_COPY, TWO_COPIES, NO_CALL, HALF_CALL, REF_CALLED = 1, 2, 4, 8, 16
HOLDINGS = (ONE_COPY, TWO_COPIES, NO_CALL, HALF_CALL, REF_CALLED)  # BITMAP_NAMES order
_MISSING = -(2**31)  # htslib's missing integer


class ReadAllele(NamedTuple):
    """An allele of the genome's file with how its sample holds it (``held``: flags)."""

    chrom: str
    start: int
    end: int
    ref: str
    alt: str
    variant_type: str
    annotation: str
    terms: tuple[Term, ...]
    held: int


@dataclass
class GenomeCalls:
    """What a single-sample file brings, ready to write (bits are given at write time)."""

    path: Path
    sha256: str
    sample: str  # the VCF column name
    mode: str  # gdi_node.db.models.BeaconCallset.mode
    records: int = 0
    max_span: int = 0
    spans: Spans = field(default_factory=Spans)
    alleles: list[ReadAllele] = field(default_factory=list)
    gaps: list[tuple[str, int, int]] = field(default_factory=list)  # not called: 0-based

    @property
    def name(self) -> str:
        return self.path.name


def sample_count(path: Path) -> int:
    """How many samples the file's header names (InvalidInputError when it cannot be read)."""
    vcf = open_vcf(path)
    try:
        return len(vcf.samples)
    finally:
        vcf.close()


def open_vcf(path: Path) -> VCF:
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}")
    try:
        return VCF(str(path), lazy=True, threads=1)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not a readable VCF/BCF file: {exc}") from exc


def read_genome(path: Path, assembly: Assembly, callability: Callability) -> GenomeCalls:
    """Read a single-sample file (its mode from ``callability``, decision record 0021)."""
    vcf = open_vcf(path)
    try:
        if len(vcf.samples) != 1:
            raise InvalidInputError(f"{path.name} has {len(vcf.samples)} samples, not one")
        mode = callability.mode(path, 1)
        bed = (
            read_callable_bed(callability.callable_bed, assembly)
            if callability.callable_bed
            else None
        )
        sha256 = load_digest(digest_file(path).sha256, bed)
        calls = GenomeCalls(path, sha256, str(vcf.samples[0]), mode)
        _Reader(vcf, assembly, callability, calls, bed).read()
        if bed is not None:  # not called outside it: the BED's complement (decision record 0024)
            calls.gaps += uncalled_outside(bed, calls.spans.by_contig, assembly)
        return calls
    finally:
        vcf.close()


class _Reader:
    def __init__(
        self,
        vcf: VCF,
        assembly: Assembly,
        callability: Callability,
        calls: GenomeCalls,
        bed: CallableRegions | None,
    ) -> None:
        self._vcf, self._assembly, self._rules, self._calls = vcf, assembly, callability, calls
        self._bed = bed
        self._formats = annotation_formats(vcf)
        self._gaps = _Gaps(calls.gaps) if calls.mode == "gvcf" else None
        self._canonical: dict[str, str] = {}

    def read(self) -> None:
        calls = self._calls
        for record in _records(self._vcf):
            calls.records += 1
            self._record(record)
        if self._gaps is not None:
            self._gaps.close()

    def _chrom(self, name: str) -> str:
        chrom = self._canonical.get(name)
        if chrom is None:
            chrom = self._canonical[name] = self._assembly.canonical(name) or name
        return chrom

    def _record(self, record: Any) -> None:
        chrom = self._chrom(record.CHROM)
        start = record.POS - 1
        ref: str = record.REF
        alts: list[str] = record.ALT
        end_info = record.INFO.get("END")
        reach = start + len(ref)
        self._calls.spans.add(chrom, start, max(reach, int(end_info or 0)))
        if self._bed is not None and not self._bed.holds(chrom, start):
            return  # outside its callable regions: not called (decision record 0024)
        counted = self._rules.counts_filter(record.FILTER)
        gaps = self._gaps
        genotype = record.genotype
        alleles = _diploid(record, genotype) if genotype is not None else [-1, -1]
        called = (alleles[0] >= 0) + (alleles[1] >= 0)  # how many alleles it calls
        if gaps is not None:
            ok = counted and self._passing(record)
            if alts and end_info is not None and all(a in BLOCK_ALTS for a in alts):
                gaps.called(chrom, start, int(end_info), ok)
                return
            if genotype is None:
                gaps.called(chrom, start, reach, False)
                return
            ok = ok and called > 0
            gaps.called(chrom, start, reach, ok)
            if not ok:
                return  # a gap here, not a no-call: the sample carries nothing
        if not alts or alts == ["."] or genotype is None:
            return
        if gaps is None and not counted:
            alleles, called = [-1, -1], 0  # a filtered record: a no-call
        site = NO_CALL if called == 0 else HALF_CALL if called == 1 else 0
        notes = record_annotations(record, alts, self._formats, counted=counted)
        nocall_mode = self._calls.mode == "absent_nocall"
        for k, alt in enumerate(alts, start=1):
            if alt in PLACEHOLDER_ALTS:
                continue
            copies = (alleles[0] == k) + (alleles[1] == k)
            held = site | (ONE_COPY if copies == 1 else TWO_COPIES if copies == 2 else 0)
            if nocall_mode and called == 2 and copies == 0:
                held |= REF_CALLED
            if not held:
                continue  # nothing of this sample to count for the allele
            described = describe_allele(
                self._assembly, chrom, pos=record.POS, ref=ref, alt=alt, end_info=end_info,
                note=notes[k - 1],
            )  # fmt: skip
            self._calls.max_span = max(self._calls.max_span, described.end - start)
            self._calls.alleles.append(
                ReadAllele(
                    chrom, start, described.end, ref, alt, described.variant_type,
                    described.annotation, described.terms, held,
                )
            )  # fmt: skip

    def _passing(self, record: Any) -> bool:
        """The genotype (or block) meets the thresholds (missing values do not mask)."""
        quality = _value(record, "GQ")
        if quality is not None and quality != _MISSING and quality < self._rules.min_gq:
            return False
        depth = _value(record, "MIN_DP")
        if depth is None:
            depth = _value(record, "DP")
        return depth is None or depth == _MISSING or depth >= self._rules.min_dp


def _diploid(record: Any, genotype: Any) -> list[int]:
    """The sample's two allele indexes (-1 missing, -2 none: a haploid call)."""
    alleles: list[int] = genotype.array()[0, :-1].tolist()
    if len(alleles) > 2 and any(a != -2 for a in alleles[2:]):
        raise InvalidInputError(
            f"{record.CHROM}:{record.POS}: genotypes with more than two alleles are not supported"
        )
    return alleles[:2] if len(alleles) > 1 else [alleles[0], -2]


def _value(record: Any, name: str) -> int | None:
    try:
        values = record.format(name)
    except KeyError:
        return None
    if values is None:
        return None
    return int(values[0, 0])


def _records(vcf: VCF) -> Iterator[Any]:
    try:
        yield from vcf
    except Exception as exc:  # htslib reports a malformed record as a generic error
        raise InvalidInputError(f"the VCF cannot be read to the end: {exc}") from exc


class _Gaps:
    """The sample's uncalled intervals (gdi_node.beacon.ingest.callability.GapTracker for one
    sample): on each contig, between the stretches it is called on, within the file's span."""

    def __init__(self, into: list[tuple[str, int, int]]) -> None:
        self._into = into
        self._chrom: str | None = None
        self._cursor = self._end = 0

    def called(self, chrom: str, start: int, end: int, ok: bool) -> None:
        if chrom != self._chrom:
            self.close()
            self._chrom, self._cursor, self._end = chrom, start, start
        self._end = max(self._end, end)
        if ok:
            if self._cursor < start:
                self._into.append((chrom, self._cursor, start))
            self._cursor = max(self._cursor, end)

    def close(self) -> None:
        if self._chrom is not None and self._cursor < self._end:
            self._into.append((self._chrom, self._cursor, self._end))
        self._chrom = None
