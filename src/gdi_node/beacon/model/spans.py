"""The span a file covers on each contig: from its first record's start to its last record's
end (0-based, end exclusive). Two files of the same sample whose spans overlap on a contig bring
genotypes for the same positions: the later one is a re-analysis (issue #18)."""

from __future__ import annotations

import json
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field

from pyroaring import BitMap


@dataclass
class Spans:
    by_contig: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, contig: str, start: int, end: int) -> None:
        low, high = self.by_contig.get(contig, (start, end))
        self.by_contig[contig] = (min(low, start), max(high, end))

    def overlapping(self, other: Spans) -> list[str]:
        """The contigs on which both cover a position, in order."""
        return sorted(
            contig
            for contig, (start, end) in self.by_contig.items()
            if contig in other.by_contig
            and start < other.by_contig[contig][1]
            and other.by_contig[contig][0] < end
        )

    def beyond(self, other: Spans) -> list[str]:
        """``contig:start-end`` (1-based) of what this covers and ``other`` does not contain."""
        out = []
        for contig, (start, end) in sorted(self.by_contig.items()):
            outer = other.by_contig.get(contig)
            if outer is None or start < outer[0] or end > outer[1]:
                out.append(f"{contig}:{start + 1}-{end}")
        return out

    def to_json(self) -> str:
        return json.dumps({c: list(s) for c, s in self.by_contig.items()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Spans:
        if not text:
            return cls()
        return cls({c: (int(s[0]), int(s[1])) for c, s in json.loads(text).items()})


class CoveringSpans:
    """The bits whose file span covers a position, found in time proportional to the bits
    that do *not* cover it, not to all of them: a place with 60,000 gVCFs (each speaks only
    for its span, decision record 0021) is asked at every allele's position.

    ``all`` minus the bits starting after the position (a suffix of the start-sorted bits)
    minus those ending at or before it (a prefix of the end-sorted bits). A bit with several
    spans on the place (several files of one sample, one per region) cannot be subtracted that
    way; such places are scanned span by span."""

    def __init__(self, spans: list[tuple[int, int, int]]) -> None:  # (start, end, bit)
        self._scan = spans if len({bit for *_, bit in spans}) < len(spans) else None
        by_start = sorted(spans)
        by_end = sorted(spans, key=lambda s: s[1])
        self._starts = [start for start, _, _ in by_start]
        self._start_bits = array("I", (bit for *_, bit in by_start))
        self._ends = [end for _, end, _ in by_end]
        self._end_bits = array("I", (bit for *_, bit in by_end))
        self._all = BitMap(self._start_bits)

    def at(self, position: int) -> BitMap:
        """The bits with ``start <= position < end``."""
        if self._scan is not None:
            return BitMap(bit for start, end, bit in self._scan if start <= position < end)
        later = bisect_right(self._starts, position)
        ended = bisect_right(self._ends, position)
        if later == len(self._starts) and ended == 0:
            return self._all.copy()
        out = self._all - BitMap(self._start_bits[later:])
        return out - BitMap(self._end_bits[:ended]) if ended else out
