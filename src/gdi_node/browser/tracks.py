"""The igv.js view of a signed-in user with a file permit: which of the node's files the page may
draw for a locus, as igv.js track configurations over htsget, and the reference those files
name their sequences by (decision record 0032).

A file is listed only when the caller's permit for its dataset allows files (the same decision
DRS and htsget take, audited the same way); htsget checks again when igv.js asks for the
slice. A CRAM is drawn from its htsget BAM (igv.js reads BAM and VCF only; htsget 1.3 lets a
client ask for ``format=BAM``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.config.trust import Disclosure
from gdi_node.db.models import DataObject
from gdi_node.passport.authorizer import Authorizer, RequestFacts
from gdi_node.passport.principal import Principal

HTSGET = "/htsget"
MAX_TRACKS = 12  # a page draws at most this many files (the first by dataset and name)
_KINDS = {"BAM": ("reads", "alignment"), "CRAM": ("reads", "alignment")}
_KINDS |= {"VCF": ("variants", "variant"), "BCF": ("variants", "variant")}


@dataclass(frozen=True)
class Listed:
    """One file the caller may draw."""

    object_id: str
    dataset_id: str
    name: str
    format: str
    path: str

    def track(self) -> dict[str, Any]:
        endpoint, kind = _KINDS[self.format]
        return {
            "name": f"{self.name} ({self.dataset_id})",
            "type": kind,
            "sourceType": "htsget",
            "format": "bam" if kind == "alignment" else "vcf",
            "url": f"{HTSGET}/{endpoint}/{self.object_id}",
        }


def _contigs(path: str, file_format: str) -> list[tuple[str, int]]:
    """The sequences a file names, with their lengths, from its header."""
    if file_format in ("BAM", "CRAM"):
        with pysam.AlignmentFile(path, require_index=False) as reads:
            return list(zip(reads.references, reads.lengths, strict=True))
    with pysam.VariantFile(path) as variants:
        return [(c.name, c.length or 0) for c in variants.header.contigs.values()]


class TrackLister:
    """The files of the datasets a caller may read at file level."""

    def __init__(self, sessions: sessionmaker[Session], authorizer: Authorizer) -> None:
        self._sessions = sessions
        self.authorizer = authorizer

    def readable_datasets(self, principal: Principal, facts: RequestFacts) -> list[str]:
        decide = self.authorizer.decide
        return [
            dataset
            for dataset in self.authorizer.policy.dataset_ids
            if decide(principal, dataset, facts).allows(Disclosure.FILE)
        ]

    def listed(self, datasets: list[str]) -> list[Listed]:
        if not datasets:
            return []
        statement = (
            select(DataObject)
            .where(DataObject.dataset_id.in_(datasets), DataObject.format.in_(list(_KINDS)))
            .order_by(DataObject.dataset_id, DataObject.name)
            .limit(MAX_TRACKS)
        )
        with self._sessions() as session:
            return [
                Listed(o.id, o.dataset_id, o.name, o.format, o.path)
                for o in session.scalars(statement)
            ]

    def view(self, principal: Principal, facts: RequestFacts, locus: str) -> dict[str, Any]:
        """igv.js options: the reference the files' headers name (their sequences and lengths,
        so the page needs no genome from elsewhere), the locus and one track per file."""
        files = self.listed(self.readable_datasets(principal, facts))
        sizes: dict[str, int] = {}
        for listed in files:
            if Path(listed.path).is_file():
                for name, length in _contigs(listed.path, listed.format):
                    sizes[name] = max(length, sizes.get(name, 0))
        chrom_sizes = "".join(f"{name}\t{length}\n" for name, length in sizes.items() if length)
        return {
            "reference": {
                "id": "node",
                "name": "sequences of the files",
                "chromSizes": chrom_sizes,
            },
            "locus": _file_locus(locus, sizes),
            "tracks": [listed.track() for listed in files],
        }


def _file_locus(locus: str, sizes: dict[str, int]) -> str:
    """``locus`` (``17:100-200``) with its sequence named as the files name it (``chr17``)."""
    chrom, _, span = locus.partition(":")
    for name in (chrom, f"chr{chrom}", chrom.removeprefix("chr")):
        if name in sizes:
            return f"{name}:{span}" if span else name
    return locus
