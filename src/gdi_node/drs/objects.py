"""DRS 1.5 ``DrsObject`` documents (DRS 1.5 §DrsObject, §ContentsObject) of catalogue rows.

Three kinds of object come from one data object row: the file itself, its index (id
``<file id>.<ext>``) and the bundle of both (id ``<file id>.bundle``). A bundle's checksum is,
per type, the digest of its members' sorted, concatenated hex checksums (DRS 1.5 ``checksums``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from gdi_node.drs.entries import Blob, Entry

BUNDLE_SUFFIX = ".bundle"
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MIME = {
    "BAM": "application/vnd.ga4gh.bam",
    "CRAM": "application/vnd.ga4gh.cram",
    "VCF": "application/vnd.ga4gh.vcf+gzip",
    "BCF": "application/vnd.ga4gh.bcf",
}
_CHECKSUM_TYPES = (("sha-256", hashlib.sha256, "sha256"), ("md5", hashlib.md5, "md5"))


class Kind(StrEnum):
    FILE = "file"
    INDEX = "index"
    BUNDLE = "bundle"


@dataclass(frozen=True)
class Resolved:
    """An id resolved to a kind of object derived from one data object row."""

    kind: Kind
    entry: Entry

    @property
    def data(self) -> Blob:
        return self.entry.data

    @property
    def index(self) -> Blob | None:
        return self.entry.index

    @property
    def id(self) -> str:
        if self.kind is Kind.FILE:
            return self.data.id
        if self.kind is Kind.BUNDLE:
            return self.data.id + BUNDLE_SUFFIX
        assert self.index is not None
        return self.index.id

    @property
    def dataset_id(self) -> str:
        return self.entry.dataset_id

    @property
    def blob(self) -> Blob | None:
        """The row of a single file (None for a bundle)."""
        if self.kind is Kind.FILE:
            return self.data
        return self.index if self.kind is Kind.INDEX else None


def portable_name(name: str) -> str:
    """DRS names are portable file names: ``[A-Za-z0-9._-]``."""
    return _NAME_UNSAFE.sub("_", name)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC (SQLite hands back naive datetimes; the node stores UTC)."""
    if moment.tzinfo is None:
        return moment.isoformat() + "Z"
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _checksums(row: Blob) -> list[dict[str, str]]:
    return [{"type": "sha-256", "checksum": row.sha256}, {"type": "md5", "checksum": row.md5}]


def bundle_checksums(members: list[Blob]) -> list[dict[str, str]]:
    out = []
    for name, digest, attribute in _CHECKSUM_TYPES:
        joined = "".join(sorted(getattr(m, attribute) for m in members))
        out.append({"type": name, "checksum": digest(joined.encode("ascii")).hexdigest()})
    return out


def drs_object(
    resolved: Resolved, hostname: str, access_methods: list[dict[str, Any]]
) -> dict[str, Any]:
    """The DrsObject of ``resolved``; ``access_methods`` are the caller's (blobs only)."""
    data = resolved.data
    self_uri = f"drs://{hostname}/{resolved.id}"
    blob = resolved.blob
    if blob is None:  # the bundle of the file and its index
        index = resolved.index
        assert index is not None
        members = [data, index]
        return {
            "id": resolved.id,
            "name": portable_name(data.name) + BUNDLE_SUFFIX,
            "self_uri": self_uri,
            "size": data.size + index.size,
            "created_time": rfc3339(data.created_time),
            "updated_time": rfc3339(max(data.updated_time, index.updated_time)),
            "checksums": bundle_checksums(members),
            "contents": [
                {
                    "name": portable_name(m.name),
                    "id": m.id,
                    "drs_uri": [f"drs://{hostname}/{m.id}"],
                }
                for m in members
            ],
            "description": f"{data.format} file and its index, dataset {resolved.dataset_id}",
        }
    document: dict[str, Any] = {
        "id": resolved.id,
        "name": portable_name(blob.name),
        "self_uri": self_uri,
        "size": blob.size,
        "created_time": rfc3339(blob.created_time),
        "updated_time": rfc3339(blob.updated_time),
        "version": blob.sha256[:16],
        "mime_type": _MIME.get(blob.format, "application/octet-stream"),
        "checksums": _checksums(blob),
        "access_methods": access_methods,
    }
    if resolved.kind is Kind.FILE:
        document["description"] = f"{data.format} file, dataset {resolved.dataset_id}"
        document["aliases"] = list(resolved.entry.aliases)
    else:
        document["description"] = (
            f"{blob.format} index of {data.name}, dataset {resolved.dataset_id}"
        )
    return document
