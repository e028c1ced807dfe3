"""A callable-regions BED for one sample (issue #18, decision record 0024): where a
single-sample VCF's sample is called, as the pipeline that wrote the VCF states it.

The BED (UCSC "BED format" FAQ; hts-specs BEDv1 §1) is whitespace-delimited, plain or gzipped;
its data lines hold ``chrom chromStart chromEnd`` in 0-based, half-open coordinates (BEDv1
§1.3, §1.6), and any further fields are ignored. Comment lines (``#``) and blank lines
(BEDv1 §1.4.2) and UCSC ``browser``/``track`` header lines (the UCSC FAQ) are skipped. Lines
may come in any order and overlap: the intervals are sorted and merged. ``chrom`` may be any
spelling of one of the assembly's sequences (``chr22``, ``22``, ``NC_000022.11``:
gdi_node.beacon.model.assemblies).

Refused, in one line naming the file and the line, before anything is written: a missing or
unreadable file, a line with fewer than three fields or a start or end that is not a whole
number >= 0, an end before its start or past the sequence's length, a sequence the assembly
does not have, and a GATK CallableLoci state other than ``CALLABLE`` in the name field (an
unfiltered CallableLoci BED lists every base, callable or not).

Inside the intervals a site the VCF has no record of is reference (as ``--absent ref``);
outside them the sample is not called, its own records there included. The gaps stored
(gdi_node.beacon.store.uncalled) are the BED's complement over the whole of each contig the
VCF has records on (:func:`uncalled_outside`).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gdi_node.beacon.model.assemblies import Assembly
from gdi_node.errors import InvalidInputError

_GZIP_MAGIC = b"\x1f\x8b"
_WHOLE = re.compile(r"[0-9]+")  # BEDv1 §1.6: chromStart and chromEnd are non-negative integers
_HEADER_WORDS = ("browser", "track")  # UCSC custom-track header lines
# GATK CallableLoci states that are not callable: such a line says the opposite of callable
_NOT_CALLABLE = frozenset(
    {"REF_N", "NO_COVERAGE", "LOW_COVERAGE", "EXCESSIVE_COVERAGE", "POOR_MAPPING_QUALITY"}
)

Interval = tuple[str, int, int]  # (canonical contig, start, end): 0-based, end exclusive


@dataclass(frozen=True)
class CallableRegions:
    """One sample's callable intervals per canonical contig: sorted, merged, non-empty."""

    path: Path
    sha256: str  # of the file as read (compressed or not)
    starts: dict[str, list[int]]
    ends: dict[str, list[int]]

    def holds(self, chrom: str, position: int) -> bool:
        """Whether ``position`` (0-based) of canonical ``chrom`` is callable."""
        starts = self.starts.get(chrom)
        if not starts:
            return False
        n = bisect_right(starts, position) - 1
        return n >= 0 and position < self.ends[chrom][n]

    def intervals(self, chrom: str) -> Iterator[tuple[int, int]]:
        """The callable intervals of ``chrom``, in order."""
        yield from zip(self.starts.get(chrom, ()), self.ends.get(chrom, ()), strict=True)


def read_callable_bed(path: Path, assembly: Assembly) -> CallableRegions:
    """The BED's intervals (see the module doc); InvalidInputError naming the file and line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such callable-regions BED") from None
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read the BED ({exc.strerror})") from None
    found: dict[str, list[tuple[int, int]]] = {}
    for line_no, fields in _data_lines(path, _text(path, raw)):
        chrom, start, end = _interval(path, line_no, fields, assembly)
        if end > start:  # a zero-length feature (BEDv1 §1.6) covers no base
            found.setdefault(chrom, []).append((start, end))
    starts: dict[str, list[int]] = {}
    ends: dict[str, list[int]] = {}
    for chrom, pairs in found.items():
        merged = _merged(sorted(pairs))
        starts[chrom] = [start for start, _ in merged]
        ends[chrom] = [end for _, end in merged]
    return CallableRegions(path, hashlib.sha256(raw).hexdigest(), starts, ends)


def uncalled_outside(
    regions: CallableRegions, spans: Mapping[str, tuple[int, int]], assembly: Assembly
) -> list[Interval]:
    """Where the sample is not called: on each contig the VCF speaks for (``spans``: its
    records' span per canonical contig, gdi_node.beacon.model.spans), the complement of the
    callable intervals over the whole contig, ``[0, length)`` (the assembly's length; a
    contig the assembly has no length for, which the BED cannot name, up to the end of the
    file's span there). BED intervals on contigs the VCF has no record on are not used."""
    gaps: list[Interval] = []
    for chrom, (_, span_end) in sorted(spans.items()):
        length = assembly.lengths.get(chrom) or span_end
        cursor = 0
        for start, end in regions.intervals(chrom):
            if start > cursor:
                gaps.append((chrom, cursor, start))
            cursor = max(cursor, end)
        if cursor < length:
            gaps.append((chrom, cursor, length))
    return gaps


def load_digest(vcf_sha256: str, regions: CallableRegions | None) -> str:
    """What a load's content is known by (``beacon_callsets.sha256``): the VCF's digest, or
    with a BED, a digest of both (the same VCF with another BED is other content)."""
    if regions is None:
        return vcf_sha256
    return hashlib.sha256(f"{vcf_sha256}+bed:{regions.sha256}".encode()).hexdigest()


def _text(path: Path, raw: bytes) -> str:
    try:
        data = gzip.decompress(raw) if raw.startswith(_GZIP_MAGIC) else raw
        return data.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: not a plain or gzipped text BED ({exc})") from None


def _data_lines(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    for line_no, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0] in _HEADER_WORDS:
            continue
        if len(fields) < 3:
            raise InvalidInputError(
                f"{path}:{line_no}: expected chrom, start and end, found {line.strip()!r}"
            )
        yield line_no, fields


def _interval(path: Path, line_no: int, fields: list[str], assembly: Assembly) -> Interval:
    where = f"{path}:{line_no}"
    name, first, last = fields[:3]
    if not (_WHOLE.fullmatch(first) and _WHOLE.fullmatch(last)):
        raise InvalidInputError(
            f"{where}: start and end must be whole numbers >= 0, not {first!r} and {last!r}"
        )
    start, end = int(first), int(last)
    if end < start:
        raise InvalidInputError(f"{where}: end {end} is before start {start}")
    chrom = assembly.canonical(name)
    if chrom is None:
        raise InvalidInputError(f"{where}: {assembly.id} has no sequence {name!r}")
    length = assembly.lengths.get(chrom)
    if length is not None and end > length:
        raise InvalidInputError(f"{where}: end {end} is past the end of {name} ({length})")
    if len(fields) > 3 and fields[3] in _NOT_CALLABLE:
        raise InvalidInputError(
            f"{where}: the region is {fields[3]}, not callable: keep only the CALLABLE lines"
            " of a CallableLoci BED"
        )
    return chrom, start, end


def _merged(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted intervals with overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in pairs:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
