"""The span a file covers on each contig: from its first record's start to its last record's
end (0-based, end exclusive). Two files of the same sample whose spans overlap on a contig bring
genotypes for the same positions: the later one is a re-analysis (issue #18)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


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
