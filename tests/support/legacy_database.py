"""A database as the node wrote it before one row per allele (migration 0010: per-callset
variant rows with four bitmaps over sample numbers, bins per callset), written by raw SQL so
that the migrations that follow are tested on data they did not write themselves."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pyroaring import BitMap
from sqlalchemy import Connection, Engine, text

from gdi_node.beacon.model.carriers import to_bytes
from gdi_node.db.migrate import upgrade


@dataclass(frozen=True)
class LegacyRow:
    """One allele of one file: 1-based ``pos``; genotypes as sample names per set."""

    chrom: str
    pos: int
    ref: str
    alt: str
    one_copy: frozenset[str] = frozenset()
    two_copies: frozenset[str] = frozenset()
    one_called: frozenset[str] = frozenset()
    none_called: frozenset[str] = frozenset()
    genes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LegacyFile:
    name: str
    samples: tuple[str, ...]
    rows: tuple[LegacyRow, ...]
    state: str = "ready"


@dataclass
class _Numbers:
    of: dict[str, int] = field(default_factory=dict)

    def bitmap(self, names: frozenset[str] | tuple[str, ...]) -> bytes:
        return to_bytes(BitMap(self.of[n] for n in names))


def write_legacy_database(engine: Engine, dataset_id: str, files: list[LegacyFile]) -> None:
    """Migrate to 0010 and write ``files`` into ``dataset_id`` as that schema held them."""
    upgrade(engine, "0010")
    numbers = _Numbers()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO datasets (id, name, description, security_level, created_time,"
                " updated_time) VALUES (:id, :id, '', 'PUBLIC', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            {"id": dataset_id},
        )
        for file in files:
            for name in file.samples:
                if name not in numbers.of:
                    numbers.of[name] = int(
                        connection.execute(
                            text(
                                "INSERT INTO beacon_samples (dataset_id, name, individual_id,"
                                " biosample_id) VALUES (:d, :n, :n, :n) RETURNING sample_no"
                            ),
                            {"d": dataset_id, "n": name},
                        ).scalar_one()
                    )
            callset_id = connection.execute(
                text(
                    "INSERT INTO beacon_callsets (dataset_id, name, sha256, assembly,"
                    " sample_count, samples, record_count, allele_count, max_span,"
                    " loaded_time, shares_alleles, state) VALUES (:d, :n, :h, 'GRCh38', :c, :s,"
                    " :r, :r, 1, CURRENT_TIMESTAMP, :shares, :state) RETURNING id"
                ),
                {
                    "d": dataset_id, "n": file.name, "h": file.name.ljust(64, "0")[:64],
                    "c": len(file.samples), "s": numbers.bitmap(file.samples),
                    "r": len(file.rows), "shares": True, "state": file.state,
                },
            ).scalar_one()  # fmt: skip
            for row in file.rows:
                _write_row(connection, dataset_id, int(callset_id), row, numbers)


def _write_row(
    connection: Connection, dataset_id: str, callset_id: int, row: LegacyRow, numbers: _Numbers
) -> None:
    run = connection.execute
    start = row.pos - 1
    carriers = len(row.one_copy | row.two_copies)
    note = {"genes": list(row.genes), "effects": [], "hgvs": [], "aminoacidChanges": []}
    variant_id = run(
        text(
            'INSERT INTO beacon_variants (callset_id, dataset_id, assembly, chrom, start, "end",'
            " ref, alt, variant_type, carriers, one_copy, two_copies, one_called, none_called,"
            " annotation) VALUES (:cs, :d, 'GRCh38', :chrom, :start, :end, :ref, :alt, :type,"
            " :carriers, :one, :two, :one_called, :none_called, :note) RETURNING id"
        ),
        {
            "cs": callset_id, "d": dataset_id, "chrom": row.chrom, "start": start,
            "end": start + len(row.ref), "ref": row.ref, "alt": row.alt,
            "type": "SNP" if len(row.ref) == len(row.alt) == 1 else "INDEL",
            "carriers": carriers, "one": numbers.bitmap(row.one_copy),
            "two": numbers.bitmap(row.two_copies), "one_called": numbers.bitmap(row.one_called),
            "none_called": numbers.bitmap(row.none_called), "note": json.dumps(note),
        },
    ).scalar_one()  # fmt: skip
    for gene in row.genes:
        run(
            text(
                "INSERT INTO beacon_variant_terms (variant_id, kind, term) VALUES (:v, 'gene', :g)"
            ),
            {"v": variant_id, "g": gene},
        )
    if carriers:
        run(
            text(
                "INSERT INTO beacon_variant_bins (callset_id, assembly, chrom, bin, variant_type,"
                " dataset_id, alleles) VALUES (:cs, 'GRCh38', :chrom, :bin, :type, :d, 1)"
                " ON CONFLICT (callset_id, assembly, chrom, bin, variant_type)"
                " DO UPDATE SET alleles = beacon_variant_bins.alleles + 1"
            ),
            {
                "cs": callset_id, "chrom": row.chrom, "bin": start // 10_000, "d": dataset_id,
                "type": "SNP" if len(row.ref) == len(row.alt) == 1 else "INDEL",
            },
        )  # fmt: skip
