"""Checks for htsget plans: assemble the parts a client would fetch and read the result back.

A plan is right when the concatenation of its parts is a file that htslib reads without an
index, that has the original's header, that holds every record an indexed fetch on the original
returns for the requested regions (more is allowed: htsget.md §Query parameters), and that ends
with its format's EOF marker.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam

from gdi_node.htsget.bgzf import EOF_BLOCK
from gdi_node.htsget.crai import EOF_CONTAINER
from gdi_node.htsget.planner import FileRange, Part, Region
from gdi_node.storage.formats import FileFormat

Key = tuple[object, ...]
SUFFIX = {
    FileFormat.BAM: ".bam",
    FileFormat.CRAM: ".cram",
    FileFormat.VCF: ".vcf.gz",
    FileFormat.BCF: ".bcf",
}


@dataclass(frozen=True)
class Case:
    """A data file, its index, and what reading it needs."""

    name: str
    path: Path
    index: Path
    fmt: FileFormat
    reference: Path | None = None  # FASTA for CRAM decoding

    @property
    def reads(self) -> bool:
        return self.fmt in (FileFormat.BAM, FileFormat.CRAM)


def assemble(source: Path, parts: Iterable[Part], target: Path) -> Path:
    """Write the concatenation of ``parts`` (ranges of ``source``, inline bytes) to ``target``."""
    with source.open("rb") as handle, target.open("wb") as out:
        for part in parts:
            if isinstance(part, FileRange):
                handle.seek(part.start)
                data = handle.read(part.end - part.start)
                assert len(data) == part.end - part.start, part
                out.write(data)
            else:
                out.write(part.data)
    return target


def _read_key(read: pysam.AlignedSegment) -> Key:
    return (read.query_name, read.flag, read.reference_start)


def _variant_key(record: pysam.VariantRecord) -> Key:
    return (record.chrom, record.pos, record.ref, record.alts)


def open_reads(case: Case, path: Path, index: Path | None = None) -> pysam.AlignmentFile:
    """pysam's reader for a BAM or CRAM ``path`` (no index unless given)."""
    return pysam.AlignmentFile(
        str(path),
        "rb" if case.fmt is FileFormat.BAM else "rc",
        reference_filename=str(case.reference) if case.reference else None,
        check_sq=False,
        index_filename=None if index is None else str(index),
    )


def open_file(
    case: Case, path: Path, index: Path | None = None
) -> pysam.AlignmentFile | pysam.VariantFile:
    """pysam's reader for ``path`` (no index unless given)."""
    if case.reads:
        return open_reads(case, path, index)
    return pysam.VariantFile(str(path), index_filename=None if index is None else str(index))


def header_facts(
    handle: pysam.AlignmentFile | pysam.VariantFile,
) -> tuple[tuple[str, int] | str, ...]:
    """The references and their lengths (BAM/CRAM), or the contig names (VCF/BCF), in order."""
    if isinstance(handle, pysam.AlignmentFile):
        return tuple(zip(handle.references, handle.lengths, strict=True))
    return tuple(contig.name for contig in handle.header.contigs.values())


def fetch_keys(
    handle: pysam.AlignmentFile | pysam.VariantFile, region: Region | None = None
) -> Counter[Key]:
    """The records of ``region`` (an indexed fetch), or of the whole file read without an index."""
    if isinstance(handle, pysam.AlignmentFile):
        if region is None:
            return Counter(_read_key(r) for r in handle.fetch(until_eof=True))
        return Counter(
            _read_key(r) for r in handle.fetch(region.reference_name, region.start, region.end)
        )
    if region is None:
        return Counter(_variant_key(r) for r in handle.fetch())
    return Counter(
        _variant_key(r) for r in handle.fetch(region.reference_name, region.start, region.end)
    )


def all_keys(case: Case, path: Path) -> Counter[Key]:
    """Every record of a file, read without an index."""
    with open_file(case, path) as handle:
        return fetch_keys(handle)


class Expected:
    """What an indexed fetch on the original returns per region."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.handle = open_file(case, case.path, case.index)
        self.header = header_facts(self.handle)
        self.everything = all_keys(case, case.path)
        self.unplaced: Counter[Key] = Counter()
        if case.reads:
            with open_reads(case, case.path) as plain:
                self.unplaced = Counter(
                    _read_key(r) for r in plain.fetch(until_eof=True) if r.reference_id < 0
                )

    def close(self) -> None:
        self.handle.close()

    def keys(self, regions: Sequence[Region]) -> Counter[Key]:
        found: Counter[Key] = Counter()
        seen: set[Key] = set()
        for region in regions:
            if region.start is not None and region.start == region.end:
                continue  # empty in half-open coordinates (htslib's CRAM fetch returns 1 bp)
            if region.reference_name == "*":
                records = self.unplaced
            else:
                records = fetch_keys(self.handle, region)
            for key, count in records.items():  # a record matching two regions comes once
                if key not in seen:
                    seen.add(key)
                    found[key] = count
        return found


def check_output(expected: Expected, out: Path, regions: Sequence[Region] | None) -> int:
    """Assert ``out`` is a valid file holding the records; return how many records it has."""
    case = expected.case
    marker = EOF_CONTAINER if case.fmt is FileFormat.CRAM else EOF_BLOCK
    data = out.read_bytes()
    assert data.endswith(marker), f"{out} does not end with the EOF marker"
    with open_file(case, out) as handle:
        assert header_facts(handle) == expected.header
    got = all_keys(case, out)
    want = expected.everything if regions is None else expected.keys(regions)
    missing = [key for key, count in want.items() if got[key] < count]
    assert not missing, f"{len(missing)} records missing, e.g. {missing[:3]}"
    extra = [key for key, count in got.items() if count > expected.everything[key]]
    assert not extra, f"records not in the original: {extra[:3]}"
    return sum(got.values())


def tool_check(case: Case, files: Sequence[Path]) -> None:
    """samtools quickcheck (BAM/CRAM) or bcftools view (VCF/BCF): exit 0, no EOF warning."""
    if not files:
        return
    if case.reads:
        result = subprocess.run(
            ["samtools", "quickcheck", "-v", *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "EOF" not in result.stderr, result.stderr
        return
    for path in files:
        result = subprocess.run(
            ["bcftools", "view", "-Ov", "-o", "/dev/null", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "EOF marker" not in result.stderr, result.stderr
