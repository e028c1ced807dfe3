"""Writes of a variant load (VCF/BCF: gdi_node.beacon.ingest.vcf; BFF genomic variations:
gdi_node.beacon.ingest.bff_variants): a batch of alleles with their search terms, and the
planner statistics refreshed once a load is shown."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.db.models import BeaconVariant, BeaconVariantTerm

Term = tuple[str, str]  # (kind, term) of beacon_variant_terms: ("gene", "BRCA2"), ("hgvs", …)
# One allele to write: its beacon_variants row (column -> value) and its search terms.
AlleleRow = tuple[dict[str, Any], list[Term]]
_MAX_TERM = 255  # beacon_variant_terms.term
_VARIANTS = cast(Table, BeaconVariant.__table__)
_TERMS = cast(Table, BeaconVariantTerm.__table__)
_ANALYSED = ("beacon_variants", "beacon_variant_bins", "beacon_variant_terms", "beacon_samples")


def write_alleles(session: Session, batch: list[AlleleRow]) -> int:
    """Insert the batch's variant rows and their terms (cut to the column's length, each once
    per allele) in the caller's transaction; returns how many alleles were written."""
    ids = session.execute(
        insert(_VARIANTS).returning(_VARIANTS.c.id, sort_by_parameter_order=True),
        [row for row, _ in batch],
    ).scalars()
    terms = []
    for variant_id, (_, found) in zip(ids, batch, strict=True):
        for kind, value in dict.fromkeys((kind, value[:_MAX_TERM]) for kind, value in found):
            terms.append({"variant_id": variant_id, "kind": kind, "term": value})
    if terms:
        session.execute(insert(_TERMS), terms)
    return len(batch)


def refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """Let the query planner see the new rows (otherwise PostgreSQL waits for autovacuum and
    may scan instead of using the term and position indexes)."""
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"ANALYZE {', '.join(_ANALYSED)}"))
        else:  # sampled statistics: bounded time however large the tables are
            session.execute(text("PRAGMA analysis_limit=2000"))
            for table in _ANALYSED:
                session.execute(text(f"ANALYZE {table}"))
