"""Where a loaded file's samples are called (issue #18, decision record 0021; design 18 §3.1):
the mode a load states or the file shows, and, for a gVCF, the intervals its samples are not
called on.

Modes (``beacon_callsets.mode``):

- ``joint``: a multi-sample file; a site it has no record of is reference for its samples on
  its contigs, its own ``./.`` are not called;
- ``absent_ref`` (``--absent ref``): the same for a single-sample file;
- ``absent_nocall`` (``--absent nocall``): called only where the file has a record of the
  allele (``bcftools merge`` without ``-0``);
- ``callable_bed`` (``--callable-bed BED``): a single-sample file called exactly inside its
  BED's intervals: absent there is reference, and outside them the sample is not called, its
  own records there included (gdi_node.beacon.ingest.callable_bed, decision record 0024);
- ``gvcf``: the file has reference blocks (ALT ``<NON_REF>`` or ``<*>`` with ``INFO/END``); a
  sample is called where a block or a variant record with GQ >= ``min_gq`` and depth
  (``MIN_DP``, else ``DP``) >= ``min_dp`` covers the position, within the file's span on the
  contig (``bcftools merge -g`` after ``+setGT`` masks calls under those thresholds; a missing
  GQ or depth does not mask, as ``+setGT -i 'FMT/GQ<20'`` does not). A record's REF span is
  called (GATK), so a position inside a called deletion is called.

A single-sample VCF with no reference blocks and no ``--absent`` or ``--callable-bed``
statement is refused: absent would otherwise silently mean one of the two. So are statements
that contradict each other or the file: a BED with ``--absent``, a BED for a file of several
samples, and a BED for a gVCF, whose blocks say where it is called (decision record 0024).

**Filtered records** (VCF 4.3 §1.6.1, FILTER): a record is counted when its FILTER is ``PASS``
or missing (``.``), as gVCFs write it, or when every filter it names is one the load counts
(``--count-filter``). A record that is not counted calls nobody: in a gVCF its span is a gap
for its samples, in other files its genotypes are no-calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from cyvcf2 import VCF

from gdi_node.errors import InvalidInputError

BLOCK_ALTS = frozenset({"<NON_REF>", "<*>"})
_PEEK = 1000  # records read to find a reference block
_MISSING = np.iinfo(np.int32).min  # htslib's missing integer


@dataclass(frozen=True)
class Callability:
    """What a load states: ``absent`` (``ref``, ``nocall`` or None), a callable-regions BED,
    and the gVCF thresholds."""

    absent: str | None = None
    callable_bed: Path | None = None  # the sample's callable regions (decision record 0024)
    min_gq: int = 20
    min_dp: int = 10
    count_filters: frozenset[str] = frozenset()  # FILTER values counted besides PASS and "."

    def counts_filter(self, value: str | None) -> bool:
        """Whether a record with this FILTER (cyvcf2: None for PASS or ".") is counted."""
        if value is None or value in ("PASS", "."):
            return True
        return all(name in self.count_filters for name in value.split(";"))

    def mode(self, path: Path, samples: int) -> str:
        """The file's mode (see the module doc); InvalidInputError when it needs a statement
        or its statements contradict each other or the file."""
        if self.callable_bed is not None:
            return self._bed_mode(path, samples)
        if self.absent == "ref":
            return "absent_ref"
        if self.absent == "nocall":
            return "absent_nocall"
        if self.absent is not None:
            raise InvalidInputError(f"--absent is ref or nocall, not {self.absent!r}")
        if has_reference_blocks(path):
            return "gvcf"
        if samples > 1:
            return "joint"
        raise InvalidInputError(
            f"{path.name} has one sample and no reference blocks: pass --absent ref (a site"
            " absent from it is reference) or --absent nocall (called only where it has a record)"
        )

    def _bed_mode(self, path: Path, samples: int) -> str:
        if self.absent is not None:
            raise InvalidInputError(
                f"{path.name}: give --callable-bed or --absent, not both (with the BED, absent"
                " is reference inside its intervals and not called outside them)"
            )
        if samples != 1:
            raise InvalidInputError(
                f"{path.name} has {samples} samples: --callable-bed gives one sample's callable"
                " regions, for a single-sample file"
            )
        if has_reference_blocks(path):
            raise InvalidInputError(
                f"{path.name} has reference blocks, which say where its sample is called: drop"
                " --callable-bed"
            )
        return "callable_bed"


def has_reference_blocks(path: Path) -> bool:
    """Whether one of the file's first records is a reference block (a record that cannot be
    read ends the look: the load reports it)."""
    vcf = VCF(str(path), lazy=True, threads=1)
    try:
        for n, record in enumerate(vcf):
            if n >= _PEEK:
                return False
            if is_block(record):
                return True
    except Exception:
        return False
    finally:
        vcf.close()
    return False


def is_block(record: Any) -> bool:
    """A gVCF reference block: only a ``<NON_REF>``/``<*>`` ALT, with ``INFO/END``."""
    alts = list(record.ALT)
    return bool(alts) and all(a in BLOCK_ALTS for a in alts) and record.INFO.get("END") is not None


def passing(record: Any, callability: Callability, samples: int) -> npt.NDArray[np.bool_]:
    """Per sample, whether the record's genotype (or block) meets the thresholds."""
    ok = np.ones(samples, dtype=bool)
    quality = _format(record, "GQ")
    if quality is not None:
        ok &= (quality == _MISSING) | (quality >= callability.min_gq)
    depth = _format(record, "MIN_DP")
    if depth is None:
        depth = _format(record, "DP")
    if depth is not None:
        ok &= (depth == _MISSING) | (depth >= callability.min_dp)
    return ok


def _format(record: Any, name: str) -> npt.NDArray[np.int64] | None:
    try:
        values = record.format(name)
    except KeyError:
        return None
    if values is None:
        return None
    out: npt.NDArray[np.int64] = np.asarray(values, dtype=np.int64)[:, 0]
    return out


Gap = tuple[str, int, int, int]  # (chrom, start, end, sample index): 0-based, end exclusive


@dataclass
class GapTracker:
    """The uncalled intervals of a gVCF's samples, from its records in order: on each contig,
    the gaps between the stretches a sample is called on, from the file's first record there
    to its last (outside that span the file speaks for nobody: decision record 0021)."""

    samples: int
    _chrom: str | None = None
    _cursor: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _end: int = 0
    _gaps: list[Gap] = field(default_factory=list)

    def called(self, chrom: str, start: int, end: int, ok: npt.NDArray[np.bool_]) -> None:
        """Samples ``ok`` are called on ``[start, end)`` of ``chrom``."""
        if chrom != self._chrom:
            self._close()
            self._chrom, self._end = chrom, start
            self._cursor = np.full(self.samples, start, np.int64)
        self._end = max(self._end, end)
        behind = np.flatnonzero(ok & (self._cursor < start))
        self._gaps += [(chrom, int(self._cursor[i]), start, int(i)) for i in behind]
        self._cursor[ok] = np.maximum(self._cursor[ok], end)

    def seen(self, chrom: str, start: int, end: int) -> None:
        """A record nobody is called by (it still extends the file's span)."""
        self.called(chrom, start, end, np.zeros(self.samples, dtype=bool))

    def _close(self) -> None:
        if self._chrom is None:
            return
        short = np.flatnonzero(self._cursor < self._end)
        self._gaps += [(self._chrom, int(self._cursor[i]), self._end, int(i)) for i in short]

    def take(self) -> list[Gap]:
        """The gaps found so far (each once)."""
        out, self._gaps = self._gaps, []
        return out

    def finish(self) -> list[Gap]:
        """The remaining gaps, the last contig closed."""
        self._close()
        self._chrom = None
        return self.take()


def pieces(start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` cut into pieces of at most ``size`` bases."""
    for low in range(start, end, size):
        yield low, min(end, low + size)
