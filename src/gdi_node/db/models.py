"""SQLAlchemy 2 typed models of the object catalogue shared by htsget and DRS.

A *data object* is one file registered in place (BAM, CRAM, VCF or BCF) with its index, size and
checksums; DRS 1.5 ``DrsObject`` fields (``id``, ``size``, ``checksums``, ``created_time``) are
served from here. Every object belongs to one *dataset*, the unit that permits are granted on.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table the node owns."""


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    security_level: Mapped[str] = mapped_column(String(16))
    created_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    objects: Mapped[list[DataObject]] = relationship(back_populates="dataset")


class StoredFileColumns:
    """What the node records of every file it serves: name, format, size and checksums."""

    name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str] = mapped_column(String(32))
    created_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class DataObject(StoredFileColumns, Base):
    __tablename__ = "data_objects"
    __table_args__ = (Index("ix_data_objects_dataset_id", "dataset_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    path: Mapped[str] = mapped_column(Text, unique=True)
    index_path: Mapped[str | None] = mapped_column(Text, nullable=True)

    dataset: Mapped[Dataset] = relationship(back_populates="objects")
    index: Mapped[IndexObject | None] = relationship(
        back_populates="data_object", cascade="all, delete-orphan", uselist=False
    )
    aliases: Mapped[list[ObjectAlias]] = relationship(
        back_populates="data_object", cascade="all, delete-orphan", order_by="ObjectAlias.alias"
    )


class IndexObject(StoredFileColumns, Base):
    """The index (BAI, CRAI, TBI or CSI) of a data object, served by DRS as an object too.

    Its id is the data object's id plus the index extension (``<id>.bai``), stable across
    re-ingestion; it belongs to the data object's dataset.
    """

    __tablename__ = "index_objects"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    data_object_id: Mapped[str] = mapped_column(
        ForeignKey("data_objects.id", ondelete="CASCADE"), unique=True
    )
    path: Mapped[str] = mapped_column(Text)

    data_object: Mapped[DataObject] = relationship(back_populates="index")


class ObjectAlias(Base):
    """Another name a data object resolves by (its file name, an accession); not unique."""

    __tablename__ = "object_aliases"
    __table_args__ = (Index("ix_object_aliases_object_id", "object_id"),)

    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    object_id: Mapped[str] = mapped_column(
        ForeignKey("data_objects.id", ondelete="CASCADE"), primary_key=True
    )

    data_object: Mapped[DataObject] = relationship(back_populates="aliases")


# SQLite only autoincrements an ``INTEGER PRIMARY KEY`` (a rowid alias), not a ``BIGINT`` one.
AUDIT_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditRecord(Base):
    """One authorization decision, appended to a SHA-256 hash chain (see gdi_node.passport.audit).

    ``subject`` is a keyed pseudonym of the principal (never the raw ``sub``), NULL when
    anonymous; ``visa_ids`` is a JSON list of the ``jti`` of every visa the decision used;
    ``refused_visas`` (NULL when none) a JSON list of ``{id, iss, source}`` of the
    ControlledAccessGrants it refused because their issuer is not bound to their DAC source.
    """

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_time", "time"),)

    id: Mapped[int] = mapped_column(AUDIT_ID, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)
    operation: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    object_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    decision: Mapped[str] = mapped_column(String(8))
    disclosure: Mapped[str] = mapped_column(String(16))
    visa_ids: Mapped[str] = mapped_column(Text)
    refused_visas: Mapped[str | None] = mapped_column(Text, nullable=True)
    client_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The single row (``id`` 1) naming the last record of the audit chain and its hash.

    Writers lock it before appending and update it in the same transaction, which serialises
    them and lets the verifier notice rows cut from the tail.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(AUDIT_ID)
    last_hash: Mapped[str] = mapped_column(String(64))


# --- Beacon v2: variants and the allele-frequency database ------------------------------------
# Genotypes are not stored row per sample. Every sample of an ingested VCF gets a node-wide
# number; each variant allele keeps compact carrier sets (roaring bitmaps over those numbers),
# so counts, frequencies, dataset/cohort/population scopes and consent exclusion are set
# operations at query time (gdi_node.beacon.model.carriers).

VARIANT_ID = BigInteger().with_variant(Integer(), "sqlite")
_LOCATED_COLUMNS = ("assembly", "chrom", "start", "end", "dataset_id", "ref", "alt", "carriers")
_BINNED_COLUMNS = ("assembly", "chrom", "bin", "dataset_id", "variant_type", "alleles")


class BeaconCallset(Base):
    """One ingested VCF/BCF file of a dataset (its samples, its records)."""

    __tablename__ = "beacon_callsets"
    __table_args__ = (UniqueConstraint("dataset_id", "name", name="uq_beacon_callsets_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    assembly: Mapped[str] = mapped_column(String(32))
    sample_count: Mapped[int] = mapped_column(Integer)
    samples: Mapped[bytes] = mapped_column(LargeBinary)  # bitmap of its sample numbers
    record_count: Mapped[int] = mapped_column(BigInteger)
    allele_count: Mapped[int] = mapped_column(BigInteger)
    max_span: Mapped[int] = mapped_column(BigInteger)  # longest end - start: bounds range scans
    # how absent sites count (decision records 0020, 0021): ``joint`` (a multi-sample file:
    # absent = reference on its contigs), ``absent_ref``, ``absent_nocall`` (called only where
    # the file has a record), ``gvcf`` (called where its reference blocks or records say so),
    # ``callable_bed`` (called inside its sample's callable-regions BED: decision record 0024)
    mode: Mapped[str] = mapped_column(String(16), default="joint", server_default="joint")
    # ready: answered from; loading: rows being written, left out of answers (loaded_time is
    # its last progress); retired: replaced or failed, left out, rows being deleted (0014)
    state: Mapped[str] = mapped_column(String(16), default="ready", server_default="ready")
    loaded_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # JSON {contig: [start, end]}: the span of its records on each contig (0-based, end
    # exclusive); a sample's genotypes at a position come from one callset only (a later file
    # for the same sample and an overlapping span is a re-analysis)
    spans: Mapped[str | None] = mapped_column(Text, nullable=True)


class BeaconSample(Base):
    """A genotyped sample of a dataset with its node-wide number: one per biosample id (from the
    sample sheet, else the VCF column name), so callsets of one dataset that bring the same
    biosample (one VCF per chromosome) share its number. ``name`` is the column it was first
    loaded from.
    """

    __tablename__ = "beacon_samples"
    __table_args__ = (
        UniqueConstraint("dataset_id", "name", name="uq_beacon_samples_name"),
        Index("ix_beacon_samples_individual_id", "individual_id"),
        Index("ix_beacon_samples_biosample_id", "dataset_id", "biosample_id"),
    )

    sample_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    individual_id: Mapped[str] = mapped_column(String(128))
    biosample_id: Mapped[str] = mapped_column(String(128))


class BeaconSampleGroup(Base):
    """Membership of a sample in a population or a cohort (``kind``)."""

    __tablename__ = "beacon_sample_groups"
    __table_args__ = (Index("ix_beacon_sample_groups_group", "kind", "name"),)

    sample_no: Mapped[int] = mapped_column(
        ForeignKey("beacon_samples.sample_no", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)


class BeaconVariant(Base):
    """One alternate allele of a dataset, 0-based half-open ``[start, end)`` on ``chrom``: one
    row per allele, whatever files brought it (decision record 0020).

    Its carrier bitmaps are in ``beacon_carriers`` (per slice of genotype-set bits);
    ``carriers`` counts the bits carrying it (dead ones included until their file's rows are
    cleared). ``annotation`` is JSON (genes, HGVS, effects).
    """

    __tablename__ = "beacon_variants"
    __table_args__ = (
        UniqueConstraint(
            "dataset_id",
            "assembly",
            "chrom",
            "start",
            "ref",
            "alt",
            name="uq_beacon_variants_allele",
        ),
        # covering: region counts read the index only (migration 0006)
        Index("ix_beacon_variants_located", *_LOCATED_COLUMNS),
    )

    id: Mapped[int] = mapped_column(VARIANT_ID, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(String(128))
    assembly: Mapped[str] = mapped_column(String(32))
    chrom: Mapped[str] = mapped_column(String(32))
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    ref: Mapped[str] = mapped_column(Text)
    alt: Mapped[str] = mapped_column(Text)
    variant_type: Mapped[str] = mapped_column(String(16))
    carriers: Mapped[int] = mapped_column(Integer)
    annotation: Mapped[str] = mapped_column(Text)


class BeaconCarrierSlice(Base):
    """The bits of one allele within one slice of 4,096 genotype-set bits (``slice`` = bit >>
    12): a load ORs its bits into the slices they fall in only (gdi_node.beacon.model.carriers).
    ``one_copy``/``two_copies`` carry the allele; ``no_call``/``half_call`` have no or one
    called allele at its record; ``ref_called`` (``--absent nocall`` files) are called there
    without carrying it. NULL: no bit."""

    __tablename__ = "beacon_carriers"

    variant_id: Mapped[int] = mapped_column(
        VARIANT_ID, ForeignKey("beacon_variants.id", ondelete="CASCADE"), primary_key=True
    )
    slice: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    one_copy: Mapped[bytes] = mapped_column(LargeBinary)
    two_copies: Mapped[bytes] = mapped_column(LargeBinary)
    no_call: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    half_call: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    ref_called: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class BeaconGenotypeSet(Base):
    """A bit of the carrier bitmaps: one sample's genotypes from one loaded file (decision
    record 0020). Bits are never reused; a file's bits count while the file is ready."""

    __tablename__ = "beacon_genotype_sets"
    __table_args__ = (
        Index("ix_beacon_genotype_sets_callset_id", "callset_id"),
        Index("ix_beacon_genotype_sets_sample_no", "sample_no"),
    )

    bit_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callset_id: Mapped[int] = mapped_column(ForeignKey("beacon_callsets.id", ondelete="CASCADE"))
    sample_no: Mapped[int] = mapped_column(
        ForeignKey("beacon_samples.sample_no", ondelete="CASCADE")
    )


class BeaconUncalled(Base):
    """Where a gVCF's sample is not called (decision record 0021): a gap between its called
    reference blocks and records, on its file's span, cut into pieces of at most 10 kb so that
    the pieces holding a position start at most 10 kb before it. ``bit_no`` is the sample's
    bit in that file; a file's gaps go with it."""

    __tablename__ = "beacon_uncalled"
    __table_args__ = (
        Index("ix_beacon_uncalled_callset_id", "callset_id"),
        {"sqlite_with_rowid": False},
    )

    dataset_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assembly: Mapped[str] = mapped_column(String(32), primary_key=True)
    chrom: Mapped[str] = mapped_column(String(32), primary_key=True)
    # the smallest k with end - start <= 2**k: the pieces holding a position are found by
    # class (gdi_node.beacon.store.uncalled, migration 0015)
    size_class: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    bit_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    end: Mapped[int] = mapped_column(BigInteger)
    callset_id: Mapped[int] = mapped_column(ForeignKey("beacon_callsets.id", ondelete="CASCADE"))


class BeaconVariantBin(Base):
    """Per dataset, the alleles with a carrier whose start lies in one ``BIN_SIZE`` window of
    a sequence, per variant type: a range count sums the bins the range covers whole and
    counts rows only at its two edges (gdi_node.beacon.store.variant_bins)."""

    __tablename__ = "beacon_variant_bins"
    __table_args__ = (
        # covering: a range count reads the index only
        Index("ix_beacon_variant_bins_located", *_BINNED_COLUMNS),
    )

    dataset_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assembly: Mapped[str] = mapped_column(String(32), primary_key=True)
    chrom: Mapped[str] = mapped_column(String(32), primary_key=True)
    bin: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # start // BIN_SIZE
    variant_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    alleles: Mapped[int] = mapped_column(Integer)


class BeaconVariantTerm(Base):
    """A searchable term of a variant: ``gene`` symbol, ``aachange`` (``V600E``), ``hgvs``."""

    __tablename__ = "beacon_variant_terms"
    __table_args__ = (Index("ix_beacon_variant_terms_term", "kind", "term"),)

    variant_id: Mapped[int] = mapped_column(
        VARIANT_ID, ForeignKey("beacon_variants.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    term: Mapped[str] = mapped_column(String(255), primary_key=True)


class ConsentOptOut(Base):
    """An individual who opted out of research use: left out of every Beacon answer."""

    __tablename__ = "consent_opt_outs"

    individual_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    opted_out_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")


class BeaconGeneration(Base):
    """The single row (``id`` 1) counting changes to Beacon data (ingest, consent).

    Every change increments it in its own transaction; query workers compare it with the value
    their caches were built at, so an opt-out takes effect in every worker at the next query.
    """

    __tablename__ = "beacon_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


class BeaconQueryBudget(Base):
    """Risk units a principal spent on Beacon queries in one budget window (fixed windows of
    ``beacon.budget.window_seconds``; ``window`` is the window's start, Unix seconds)."""

    __tablename__ = "beacon_query_budget"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    used: Mapped[int] = mapped_column(BigInteger)


# --- Beacon v2: metadata records and their filter index -------------------------------------


class BeaconEntry(Base):
    """One metadata record (``entry_type``: individual, biosample, run, analysis, cohort,
    dataset) of a dataset, as Beacon v2 default-model JSON in ``document``.

    ``individual_id``/``biosample_id``/``run_id`` link it to the person, sample and run it is
    about (an individual links to itself), and through ``beacon_samples`` to genotypes.
    """

    __tablename__ = "beacon_entries"
    __table_args__ = (
        UniqueConstraint("entry_type", "dataset_id", "entry_id", name="uq_beacon_entries_id"),
        Index("ix_beacon_entries_individual", "dataset_id", "individual_id"),
    )

    entry_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_type: Mapped[str] = mapped_column(String(16))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    entry_id: Mapped[str] = mapped_column(String(128))
    individual_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    biosample_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    source: Mapped[str] = mapped_column(String(255))
    document: Mapped[str] = mapped_column(Text)


class BeaconEntryTerm(Base):
    """An ontology or custom term a record carries (what an ontology or custom filter
    matches; descendants are expanded at query time)."""

    __tablename__ = "beacon_entry_terms"
    __table_args__ = (Index("ix_beacon_entry_terms_term", "term"),)

    entry_no: Mapped[int] = mapped_column(
        ForeignKey("beacon_entries.entry_no", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(255), primary_key=True)


class BeaconEntryValue(Base):
    """A value an alphanumeric filter compares: ``number`` (ages in days, measurements) or
    ``text``, under a field id (``PATO:0000011``, a measurement's assay code, a field name)."""

    __tablename__ = "beacon_entry_values"
    __table_args__ = (
        Index("ix_beacon_entry_values_field", "field", "number"),
        Index("ix_beacon_entry_values_entry", "entry_no"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_no: Mapped[int] = mapped_column(ForeignKey("beacon_entries.entry_no", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(255))
    number: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(String(255), nullable=True)
