"""Beacon: one row per allele and dataset, carrier bitmaps in slices of genotype-set bits
(decision record 0020). Existing databases are converted without reloading:

- every sample of every ready callset becomes a genotype set (a bit); a callset's ``mode`` is
  ``joint`` when it holds several samples, else ``absent_nocall``, which keeps the allele
  numbers the node answered before (a single-sample file counted where it had a record);
- the per-callset rows of one allele are merged into one row: their bitmaps, translated from
  sample numbers to the callset's bits, are ORed into ``beacon_carriers`` slices, annotations
  are united and terms re-pointed (the lowest id is kept); rows of callsets that were not ready
  are dropped with those callsets;
- bins are rebuilt per dataset, without the callset.

The variant and term tables are rebuilt (SQLite cannot drop the callset foreign key in place)
and the data is moved in batches of positions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from pyroaring import BitMap

from gdi_node.beacon.model.carriers import AlleleBits, from_bytes

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_VARIANT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LOCATED = ["assembly", "chrom", "start", "end", "dataset_id", "ref", "alt", "carriers"]
_BINNED = ["assembly", "chrom", "bin", "dataset_id", "variant_type", "alleles"]
_BATCH = 10_000  # legacy rows read per step


def upgrade() -> None:
    connection = op.get_bind()
    op.add_column(
        "beacon_callsets",
        sa.Column("mode", sa.String(16), nullable=False, server_default="joint"),
    )
    _drop_callsets_not_ready(connection)
    op.create_table(
        "beacon_genotype_sets",
        sa.Column("bit_no", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "callset_id",
            sa.Integer(),
            sa.ForeignKey("beacon_callsets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "sample_no",
            sa.Integer(),
            sa.ForeignKey("beacon_samples.sample_no", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("ix_beacon_genotype_sets_callset_id", "beacon_genotype_sets", ["callset_id"])
    bits = _genotype_sets(connection)
    _create_new_tables()
    _merge_rows(connection, bits)
    op.drop_table("beacon_variant_terms")
    op.drop_table("beacon_variant_bins")
    op.drop_table("beacon_variants")
    op.rename_table("beacon_variants_new", "beacon_variants")
    op.rename_table("beacon_variant_terms_new", "beacon_variant_terms")
    op.rename_table("beacon_carriers_new", "beacon_carriers")
    op.create_index("ix_beacon_variants_located", "beacon_variants", _LOCATED)
    op.create_index("ix_beacon_variant_terms_term", "beacon_variant_terms", ["kind", "term"])
    _create_bins(connection)
    op.drop_column("beacon_callsets", "shares_alleles")
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('beacon_variants', 'id'),"
                " coalesce((SELECT max(id) FROM beacon_variants), 0) + 1, false)"
            )
        )
    if connection.dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=2000")
    for table in ("beacon_variants", "beacon_carriers", "beacon_variant_bins"):
        op.execute(f"ANALYZE {table}")


def _drop_callsets_not_ready(connection: sa.Connection) -> None:
    """Callsets being loaded, failed or replaced: their rows were never counted."""
    for statement in (
        "DELETE FROM beacon_variant_terms WHERE variant_id IN (SELECT id FROM beacon_variants"
        " WHERE callset_id IN (SELECT id FROM beacon_callsets WHERE state != 'ready'))",
        "DELETE FROM beacon_variant_bins WHERE callset_id IN"
        " (SELECT id FROM beacon_callsets WHERE state != 'ready')",
        "DELETE FROM beacon_variants WHERE callset_id IN"
        " (SELECT id FROM beacon_callsets WHERE state != 'ready')",
        "DELETE FROM beacon_callsets WHERE state != 'ready'",
    ):
        connection.execute(sa.text(statement))


def _genotype_sets(connection: sa.Connection) -> dict[int, dict[int, int]]:
    """A bit per sample of every callset: {callset id: {sample number: bit}}; the mode."""
    out: dict[int, dict[int, int]] = {}
    callsets = connection.execute(
        sa.text("SELECT id, samples FROM beacon_callsets ORDER BY id")
    ).all()
    insert = sa.text(
        "INSERT INTO beacon_genotype_sets (callset_id, sample_no) VALUES (:callset, :sample)"
    )
    for callset_id, blob in callsets:
        samples = sorted(from_bytes(blob))
        for sample_no in samples:
            connection.execute(insert, {"callset": callset_id, "sample": sample_no})
        mode = "joint" if len(samples) > 1 else "absent_nocall"
        connection.execute(
            sa.text("UPDATE beacon_callsets SET mode = :mode WHERE id = :id"),
            {"mode": mode, "id": callset_id},
        )
    for callset_id, sample_no, bit_no in connection.execute(
        sa.text("SELECT callset_id, sample_no, bit_no FROM beacon_genotype_sets")
    ):
        out.setdefault(int(callset_id), {})[int(sample_no)] = int(bit_no)
    return out


def _create_new_tables() -> None:
    op.create_table(
        "beacon_variants_new",
        sa.Column("id", _VARIANT_ID, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(128), nullable=False),
        sa.Column("assembly", sa.String(32), nullable=False),
        sa.Column("chrom", sa.String(32), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("alt", sa.Text(), nullable=False),
        sa.Column("variant_type", sa.String(16), nullable=False),
        sa.Column("carriers", sa.Integer(), nullable=False),
        sa.Column("annotation", sa.Text(), nullable=False),
        sa.UniqueConstraint(
            "dataset_id", "assembly", "chrom", "start", "ref", "alt",
            name="uq_beacon_variants_allele",
        ),
    )  # fmt: skip
    op.create_table(
        "beacon_carriers_new",
        sa.Column(
            "variant_id",
            _VARIANT_ID,
            sa.ForeignKey("beacon_variants_new.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("slice", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("one_copy", sa.LargeBinary(), nullable=False),
        sa.Column("two_copies", sa.LargeBinary(), nullable=False),
        sa.Column("no_call", sa.LargeBinary(), nullable=True),
        sa.Column("half_call", sa.LargeBinary(), nullable=True),
        sa.Column("ref_called", sa.LargeBinary(), nullable=True),
    )
    op.create_table(
        "beacon_variant_terms_new",
        sa.Column(
            "variant_id",
            _VARIANT_ID,
            sa.ForeignKey("beacon_variants_new.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("term", sa.String(255), primary_key=True),
    )


def _batches(connection: sa.Connection) -> Iterator[list[Any]]:
    """Legacy rows per (dataset, assembly, chrom), in start order, whole starts per batch."""
    groups = connection.execute(
        sa.text("SELECT DISTINCT dataset_id, assembly, chrom FROM beacon_variants")
    ).all()
    read = sa.text(
        'SELECT v.id, v.callset_id, v.dataset_id, v.assembly, v.chrom, v.start, v."end",'
        " v.ref, v.alt, v.variant_type, v.one_copy, v.two_copies, v.one_called,"
        " v.none_called, v.annotation, c.mode, c.samples FROM beacon_variants v"
        " JOIN beacon_callsets c ON c.id = v.callset_id"
        " WHERE v.dataset_id = :d AND v.assembly = :a AND v.chrom = :c AND v.start >= :s"
        " AND v.start < :before ORDER BY v.start, v.id LIMIT :n"
    )
    for dataset_id, assembly, chrom in groups:
        first, limit = 0, _BATCH
        while True:
            values = {"d": dataset_id, "a": assembly, "c": chrom, "s": first}
            rows = list(connection.execute(read, values | {"before": 2**62, "n": limit}))
            if len(rows) == limit:
                last = int(rows[-1].start)
                whole = [r for r in rows if int(r.start) < last]
                if not whole:  # one start holds more rows than a batch: read it alone
                    whole = list(
                        connection.execute(
                            read, values | {"s": last, "before": last + 1, "n": 2**31}
                        )
                    )
                    last += 1
                yield whole
                first = last
                continue
            if rows:
                yield rows
            break


def _merge_rows(connection: sa.Connection, bits: dict[int, dict[int, int]]) -> None:
    variants = sa.table(
        "beacon_variants_new",
        *(sa.column(c) for c in ("id", "dataset_id", "assembly", "chrom", "start", "end")),
        *(sa.column(c) for c in ("ref", "alt", "variant_type", "carriers", "annotation")),
    )
    slices = sa.table(
        "beacon_carriers_new",
        *(sa.column(c) for c in ("variant_id", "slice", "one_copy", "two_copies")),
        *(sa.column(c) for c in ("no_call", "half_call", "ref_called")),
    )
    for rows in _batches(connection):
        merged: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            merged.setdefault((row.start, row.ref, row.alt), []).append(row)
        new_rows, new_slices, moved = [], [], []
        for copies in merged.values():
            keep = min(copies, key=lambda r: int(r.id))
            bits_of_allele = AlleleBits()
            notes: dict[str, set[str]] = {}
            for row in copies:
                bits_of_allele |= _translated(row, bits[int(row.callset_id)])
                for name, values in json.loads(row.annotation).items():
                    notes.setdefault(name, set()).update(values)
                moved.append((int(row.id), int(keep.id)))
            new_rows.append(
                {
                    "id": int(keep.id), "dataset_id": keep.dataset_id,
                    "assembly": keep.assembly, "chrom": keep.chrom, "start": int(keep.start),
                    "end": max(int(r.end) for r in copies), "ref": keep.ref, "alt": keep.alt,
                    "variant_type": keep.variant_type, "carriers": bits_of_allele.carriers,
                    "annotation": json.dumps(
                        {n: sorted(v) for n, v in notes.items()}, separators=(",", ":")
                    ),
                }
            )  # fmt: skip
            for slice_no, part in bits_of_allele.by_slice().items():
                new_slices.append(
                    {"variant_id": int(keep.id), "slice": slice_no} | part.encoded(slice_no)
                )
        connection.execute(sa.insert(variants), new_rows)
        if new_slices:
            connection.execute(sa.insert(slices), new_slices)
        _move_terms(connection, moved)


def _translated(row: Any, bit_of: dict[int, int]) -> AlleleBits:
    """A legacy row's bitmaps over sample numbers as bits of its callset: ``one_called`` are
    half calls, ``none_called`` no-calls; in a single-sample (``absent_nocall``) callset, a
    sample called without a copy is ``ref_called``."""

    def bits(blob: bytes) -> BitMap:
        return BitMap(bit_of[n] for n in from_bytes(blob) if n in bit_of)

    out = AlleleBits(
        one_copy=bits(row.one_copy),
        two_copies=bits(row.two_copies),
        no_call=bits(row.none_called),
        half_call=bits(row.one_called),
    )
    if row.mode == "absent_nocall":
        everyone = bits(row.samples)
        out.ref_called = everyone - out.one_copy - out.two_copies - out.no_call - out.half_call
    return out


def _move_terms(connection: sa.Connection, moved: list[tuple[int, int]]) -> None:
    """Terms of the merged rows, each once per kept row."""
    found: set[tuple[int, str, str]] = set()
    keep_of = dict(moved)
    ids = list(keep_of)
    read = sa.text(
        "SELECT variant_id, kind, term FROM beacon_variant_terms WHERE variant_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = connection.execute(read, {"ids": chunk})
        for variant_id, kind, term in rows:
            found.add((keep_of[int(variant_id)], kind, term))
    if found:
        connection.execute(
            sa.text(
                "INSERT INTO beacon_variant_terms_new (variant_id, kind, term) VALUES (:v, :k, :t)"
            ),
            [{"v": v, "k": k, "t": t} for v, k, t in sorted(found)],
        )


def _create_bins(connection: sa.Connection) -> None:
    op.create_table(
        "beacon_variant_bins",
        sa.Column("dataset_id", sa.String(length=128), nullable=False),
        sa.Column("assembly", sa.String(length=32), nullable=False),
        sa.Column("chrom", sa.String(length=32), nullable=False),
        sa.Column("bin", sa.BigInteger(), nullable=False),
        sa.Column("variant_type", sa.String(length=16), nullable=False),
        sa.Column("alleles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "assembly", "chrom", "bin", "variant_type"),
    )
    connection.execute(
        sa.text(
            "INSERT INTO beacon_variant_bins"
            " (dataset_id, assembly, chrom, bin, variant_type, alleles)"
            # 10000: gdi_node.beacon.store.variant_bins.BIN_SIZE when this was written
            " SELECT dataset_id, assembly, chrom, start / 10000, variant_type, count(*)"
            " FROM beacon_variants WHERE carriers > 0"
            " GROUP BY dataset_id, assembly, chrom, start / 10000, variant_type"
        )
    )
    op.create_index("ix_beacon_variant_bins_located", "beacon_variant_bins", _BINNED)


def downgrade() -> None:
    raise NotImplementedError(
        "one row per allele cannot be split back into per-file rows; restore the backup taken"
        " before `gdi-node db upgrade`"
    )
