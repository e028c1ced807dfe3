"""The ``browser:`` section: the frequency browser's web pages at ``/browser`` (decision record
0032). The pages are always served; this section says which assemblies the search box offers
(the first is the default), where the gene reference files are (gene symbol -> position, for
search and gene pages) and the largest region a region page lists."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from gdi_node.config.trust import StrictSection

# SweFreq lists 100 kb, BRAVO 250 kb: a gene of that size has a few thousand variants in 60,000
# genomes, which one page still draws within a second (scripts/bench browser)
DEFAULT_REGION_LIMIT = 250_000


class GeneReferenceSettings(StrictSection):
    """One gene reference file of an assembly: a GTF or GFF3 (its ``gene`` lines; gzipped or
    not), or a tab-separated table with the columns ``symbol chrom start end`` (1-based,
    inclusive) and optionally ``gene_id``."""

    assembly: str = Field(min_length=1, max_length=40)
    path: Path


class BrowserSettings(StrictSection):
    assemblies: tuple[str, ...] = ("GRCh38",)
    genes: tuple[GeneReferenceSettings, ...] = ()
    region_limit: int = Field(default=DEFAULT_REGION_LIMIT, ge=1_000, le=10_000_000)
    # searches the front page offers as links (what this node's data make worth showing)
    examples: tuple[str, ...] = (
        "BRCA1",
        "17-43045712-T-C",
        "17:43044295-43125483",
        "rs80357906",
        "NM_007294.4:c.5266dupC",
    )

    @field_validator("assemblies")
    @classmethod
    def _check_assemblies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one assembly (GRCh38, GRCh37)")
        return value
