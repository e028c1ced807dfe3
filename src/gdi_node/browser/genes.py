"""The gene reference of the search box: gene symbol (and Ensembl gene id) -> assembly, sequence
and span, read from the operator's files (``browser.genes``: GTF, GFF3 or a four-column table).

It is reference data, never the node's genomes: which genes the search box offers says nothing
about who was sequenced (decision record 0032). Symbols match case-insensitively; a prefix lists
the genes it starts, for autocomplete.
"""

from __future__ import annotations

import bisect
import gzip
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gdi_node.config.browser import GeneReferenceSettings

_GTF_NAME = re.compile(r'gene_name "([^"]+)"')
_GTF_ID = re.compile(r'gene_id "([^".]+)')


class GeneReferenceError(ValueError):
    """A gene reference file that cannot be read (named, with the line)."""


@dataclass(frozen=True)
class Gene:
    symbol: str
    assembly: str
    chrom: str
    start: int  # 1-based, inclusive
    end: int
    gene_id: str = ""


def _open(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        yield from lines


def _gff_attribute(attributes: str, name: str) -> str:
    for part in attributes.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _feature(fields: list[str], assembly: str) -> Gene | None:
    """A GTF/GFF3 ``gene`` line's gene (None for other features or genes without a name)."""
    if len(fields) < 9 or fields[2] != "gene":
        return None
    attributes = fields[8]
    if "gene_name " in attributes:
        name, gene_id = _GTF_NAME.search(attributes), _GTF_ID.search(attributes)
        symbol, ident = (name.group(1) if name else ""), (gene_id.group(1) if gene_id else "")
    else:
        symbol = _gff_attribute(attributes, "Name") or _gff_attribute(attributes, "gene_name")
        ident = _gff_attribute(attributes, "gene_id") or _gff_attribute(attributes, "ID")
        ident = ident.removeprefix("gene:").split(".")[0]
    if not symbol:
        return None
    chrom = fields[0].removeprefix("chr")
    return Gene(
        symbol, assembly, "MT" if chrom == "M" else chrom, int(fields[3]), int(fields[4]), ident
    )


def _table_gene(fields: list[str], assembly: str) -> Gene:
    symbol, chrom, start, end = fields[:4]
    ident = fields[4] if len(fields) > 4 else ""
    return Gene(symbol, assembly, chrom.removeprefix("chr"), int(start), int(end), ident)


def read_genes(reference: GeneReferenceSettings) -> list[Gene]:
    """Every named gene of one reference file."""
    genes: list[Gene] = []
    path = reference.path
    try:
        for number, line in enumerate(_open(path), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                if len(fields) >= 9:
                    gene = _feature(fields, reference.assembly)
                elif fields[0].lower() == "symbol":
                    continue  # the table's header
                else:
                    gene = _table_gene(fields, reference.assembly)
            except (ValueError, IndexError) as error:
                raise GeneReferenceError(f"{path}: line {number}: not a gene ({error})") from None
            if gene is not None:
                genes.append(gene)
    except OSError as error:
        raise GeneReferenceError(f"{path}: {error.strerror or error}") from None
    return genes


class GeneIndex:
    """Genes by upper-cased symbol and Ensembl id, sorted for prefix lookups."""

    def __init__(self, genes: Iterable[Gene]) -> None:
        self._by_key: dict[str, list[Gene]] = {}
        for gene in genes:
            for key in {gene.symbol.upper(), gene.gene_id.upper()} - {""}:
                self._by_key.setdefault(key, []).append(gene)
        self._keys = sorted(self._by_key)

    def __len__(self) -> int:
        return len(self._keys)

    def exact(self, text: str) -> list[Gene]:
        """The genes ``text`` names (its symbol or gene id), one per assembly."""
        return list(self._by_key.get(text.strip().upper(), ()))

    def starting(self, prefix: str, limit: int) -> list[Gene]:
        """Up to ``limit`` genes whose symbol starts with ``prefix``, shortest symbol first."""
        key = prefix.strip().upper()
        if not key:
            return []
        first = bisect.bisect_left(self._keys, key)
        found: list[Gene] = []
        for name in self._keys[first:]:
            if not name.startswith(key):
                break
            found.extend(g for g in self._by_key[name] if g.symbol.upper() == name)
        found.sort(key=lambda g: (len(g.symbol), g.symbol, g.assembly))
        return found[:limit]


def load_gene_index(references: Iterable[GeneReferenceSettings]) -> GeneIndex:
    return GeneIndex(gene for reference in references for gene in read_genes(reference))
