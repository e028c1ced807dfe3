"""Find or build the index that makes a registered file seekable by region.

BAM uses a BAI (SAM/BAM spec §5.2), CRAM a CRAI (CRAM 3.1 §12), bgzipped VCF a tabix TBI and BCF
a CSI (VCF 4.3 §6, BCF2). Files are registered in place and the national store may be read-only,
so an index is written next to its file when that folder is writable and otherwise into the
node's own index folder. The data file is never written: VCF/BCF are only indexed once
:func:`detect_format` has confirmed BGZF, so ``pysam.tabix_index`` never takes its compress path.
Each index is built in a private temporary folder and renamed into place, so a failure leaves
no partial index behind.

A BAM/VCF/BCF index build fails on unsorted input but a CRAI build does not look inside slices,
so CRAM files are always scanned for order; a failed build is explained by the same scan.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pysam
from pysam.utils import SamtoolsError

from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.storage.formats import FileFormat, UnsupportedFileError, detect_format

_SUFFIX = {
    FileFormat.BAM: ".bai",
    FileFormat.CRAM: ".crai",
    FileFormat.VCF: ".tbi",
    FileFormat.BCF: ".csi",
}
_SORT_ADVICE = {
    FileFormat.BAM: "samtools sort -o sorted.bam",
    FileFormat.CRAM: "samtools sort -O cram -o sorted.cram",
    FileFormat.VCF: "bcftools sort -Oz -o sorted.vcf.gz",
    FileFormat.BCF: "bcftools sort -Ob -o sorted.bcf",
}
_READ_ONLY = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
# htslib logs to the process's stderr; its verbosity is global, so changes are serialised.
_HTSLIB_LOCK = threading.Lock()
# CRAM: decode only RNAME, POS and FLAG (htslib CRAM_OPT_REQUIRED_FIELDS); no reference needed.
_CRAM_POSITIONS_ONLY = ["required_fields=14"]


class UnsortedFileError(InvalidInputError):
    """The file is not sorted by coordinate, so it cannot be indexed."""


class StaleIndexError(InvalidInputError):
    """An index exists but is older than its data file."""


class IndexBuildError(InvalidInputError):
    """The indexer failed for a reason other than sort order (e.g. a truncated file)."""


def index_candidates(path: Path, fmt: FileFormat) -> list[Path]:
    """Where an index for ``path`` may be, in the order htslib looks for it."""
    name = path.name
    if fmt is FileFormat.BAM:
        names = [f"{name}.bai", f"{path.stem}.bai", f"{name}.csi"]
    elif fmt is FileFormat.CRAM:
        names = [f"{name}.crai", f"{path.stem}.crai"]
    elif fmt is FileFormat.VCF:
        names = [f"{name}.tbi", f"{name}.csi"]
    else:
        names = [f"{name}.csi"]
    return [path.with_name(n) for n in dict.fromkeys(names)]


def find_index(path: Path, fmt: FileFormat) -> Path | None:
    """The first existing index beside ``path``; StaleIndexError if it predates the file."""
    data_mtime = _mtime_ns(path)
    for candidate in index_candidates(path, fmt):
        if candidate.is_file():
            if _mtime_ns(candidate) < data_mtime:
                raise StaleIndexError(
                    f"{candidate} (modified {_when(candidate)}) is older than {path} (modified"
                    f" {_when(path)}): the file changed after it was indexed; rebuild or remove"
                    " the index"
                )
            return candidate
    return None


def fallback_index_path(path: Path, fmt: FileFormat, fallback_dir: Path) -> Path:
    """The index's name in ``fallback_dir``: the file name plus a hash of its full path."""
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return fallback_dir / f"{path.name}.{key}{_SUFFIX[fmt]}"


def ensure_index(path: Path, fmt: FileFormat, fallback_dir: Path) -> tuple[Path, bool]:
    """An up-to-date index for ``path`` and whether it had to be built now."""
    found = find_index(path, fmt)
    if found is not None:
        return found, False
    fallback = fallback_index_path(path, fmt, fallback_dir)
    if fallback.is_file() and _mtime_ns(fallback) >= _mtime_ns(path):
        return fallback, False
    return build_index(path, fmt, fallback_dir), True


def build_index(path: Path, fmt: FileFormat, fallback_dir: Path) -> Path:
    """Index ``path`` beside it if its folder is writable, else in ``fallback_dir``."""
    detected = detect_format(path)
    if detected is not fmt:
        raise UnsupportedFileError(f"{path} is {detected}, not {fmt}")
    if fmt is FileFormat.CRAM:
        _check_sorted(path, fmt)
    target = path.with_name(path.name + _SUFFIX[fmt])
    try:
        workdir = Path(tempfile.mkdtemp(prefix=".gdi-index-", dir=path.parent))
    except OSError as exc:
        if exc.errno not in _READ_ONLY:
            raise
        fallback_dir.mkdir(parents=True, exist_ok=True)
        target = fallback_index_path(path, fmt, fallback_dir)
        workdir = Path(tempfile.mkdtemp(prefix=".gdi-index-", dir=fallback_dir))
    try:
        partial = workdir / target.name
        _run_indexer(path, fmt, partial)
        os.replace(partial, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def _run_indexer(path: Path, fmt: FileFormat, out: Path) -> None:
    failure: Exception | None = None
    with _quiet_htslib():
        try:
            if fmt in (FileFormat.BAM, FileFormat.CRAM):
                pysam.index("-o", str(out), str(path))
            else:
                csi = fmt is FileFormat.BCF
                pysam.tabix_index(
                    str(path), preset="vcf", index=str(out), csi=csi, force=True, keep_original=True
                )
        except (SamtoolsError, OSError) as exc:
            failure = exc
    if failure is not None or not out.is_file():
        _check_sorted(path, fmt)  # raises UnsortedFileError when that is the cause
        detail = str(failure or "no index written").strip()
        raise IndexBuildError(
            f"{path} could not be indexed ({detail}); it may be truncated or corrupt"
        )


def _check_sorted(path: Path, fmt: FileFormat) -> None:
    """Raise UnsortedFileError at the first record out of coordinate order."""
    finished: set[str] = set()
    contig, pos = None, -1
    try:
        with _quiet_htslib():
            for n, (rec_contig, rec_pos) in enumerate(_positions(path, fmt), start=1):
                if rec_contig == contig and rec_pos >= pos:
                    pos = rec_pos
                    continue
                if rec_contig == contig or rec_contig in finished or contig == "*":
                    raise UnsortedFileError(
                        f"{path} is not sorted by coordinate: record {n} at"
                        f" {rec_contig}:{rec_pos + 1} comes after {contig}:{pos + 1}; sort it"
                        f" ({_SORT_ADVICE[fmt]} {path.name}) and register the sorted file"
                    )
                if contig is not None:
                    finished.add(contig)
                contig, pos = rec_contig, rec_pos
    except (OSError, ValueError) as exc:
        raise IndexBuildError(
            f"{path} cannot be read to its end ({exc}); is it truncated?"
        ) from exc


def _positions(path: Path, fmt: FileFormat) -> Iterator[tuple[str, int]]:
    """(contig, 0-based start) of every record; ``*`` for unplaced reads."""
    if fmt in (FileFormat.VCF, FileFormat.BCF):
        with pysam.VariantFile(str(path)) as variants:
            for record in variants:
                yield record.chrom, record.start
        return
    options = _CRAM_POSITIONS_ONLY if fmt is FileFormat.CRAM else None
    with pysam.AlignmentFile(str(path), check_sq=False, format_options=options) as reads:
        for read in reads.fetch(until_eof=True):
            yield read.reference_name or "*", read.reference_start


@contextmanager
def _quiet_htslib() -> Iterator[None]:
    """Silence htslib's stderr logging; failures are reported through exceptions instead."""
    with _HTSLIB_LOCK:
        previous = pysam.set_verbosity(0)
        try:
            yield
        finally:
            pysam.set_verbosity(previous)


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None


def _when(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
