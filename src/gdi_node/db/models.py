"""SQLAlchemy 2 typed models of the object catalogue shared by htsget and DRS.

A *data object* is one file registered in place (BAM, CRAM, VCF or BCF) with its index, size and
checksums; DRS 1.5 ``DrsObject`` fields (``id``, ``size``, ``checksums``, ``created_time``) are
served from here. Every object belongs to one *dataset*, the unit that permits are granted on.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
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
    anonymous; ``visa_ids`` is a JSON list of the ``jti`` of every visa the decision used.
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
