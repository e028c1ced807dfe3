"""The data endpoint behind ticket URLs: byte ranges of catalogue objects, or transcoded slices,
authorised by the URL's signature (htsget 1.3 §Ticket URLs), with HTTP Range support
(RFC 9110 §14) and constant memory whatever the slice size.

A valid signature is not enough once the file is withheld from research use by an opt-out:
every request checks consent again (one statement), so tickets and DRS access URLs issued
before an opt-out stop working at once, and work again after an opt-in (decision record 0012).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from gdi_node.config.settings import Settings
from gdi_node.db.consent import ConsentGate
from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.htsget.service import ObjectLookup, ResolvedObject, StoredFile, decode_regions
from gdi_node.htsget.transcode import transcoded
from gdi_node.passport.authorizer import Authorizer, RequestFacts
from gdi_node.storage.signing import UrlSigner
from gdi_node.storage.verify import size_matches

T = TypeVar("T", ResolvedObject, StoredFile)
_BYTES_PART = re.compile(r"^b:(\d+)-(\d+)$")
_TRANSCODE_PART = re.compile(r"^t:(BAM|VCF):(header|body):([A-Za-z0-9_-]+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiableError(InvalidInputError):
    status = 416
    code = "InvalidRange"

    def __init__(self, message: str, length: int) -> None:
        super().__init__(message)
        self.headers = {"Content-Range": f"bytes */{length}"}


@dataclass(frozen=True)
class FileSlice:
    """Bytes [start, end) of a file, read when the response is sent."""

    path: str
    start: int
    end: int


@dataclass
class DataResponse:
    """Status and headers, and either a file slice or a stream of transcoded bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    file_slice: FileSlice | None = None
    stream: Iterator[bytes] | None = None
    media_type: str = "application/octet-stream"

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        if self.file_slice is not None:
            piece = self.file_slice
            return _file_chunks(piece.path, piece.start, piece.end, chunk_size)
        assert self.stream is not None
        return self.stream


def _file_chunks(path: str, start: int, end: int, chunk: int) -> Iterator[bytes]:
    with open(path, "rb", buffering=0) as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            data = handle.read(min(chunk, remaining))
            if not data:
                raise OSError(f"{path} ended early")
            remaining -= len(data)
            yield data


def _sub_range(header: str | None, length: int) -> tuple[int, int] | None:
    """The (start, end) a single ``Range: bytes=`` asks for within ``length`` bytes."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None  # not a single byte range: serve everything (RFC 9110 allows ignoring)
    first, last = match.groups()
    if first == "":
        start, end = max(length - int(last), 0), length
    else:
        start = int(first)
        end = min(int(last) + 1, length) if last else length
    if start >= length or start >= end:
        raise RangeNotSatisfiableError(f"range {header!r} is outside 0-{length}", length)
    return start, end


AUDIT_OPERATION = "htsget.getData"  # the data endpoint's operation in the audit trail


class DataService:
    def __init__(
        self,
        settings: Settings,
        objects: ObjectLookup,
        signer: UrlSigner,
        *,
        consent: ConsentGate,
        authorizer: Authorizer,
    ) -> None:
        self._settings = settings
        self._objects = objects
        self._signer = signer
        self._consent = consent
        self._authorizer = authorizer
        self.chunk_bytes = settings.htsget.data_chunk_bytes

    def _consented(self, found: T, data_object_id: str, facts: RequestFacts) -> T:
        if self._consent.withheld(data_object_id):
            self._authorizer.withhold(found.dataset_id, found.id, facts)
        return found

    def _available(self, found: T) -> T:
        if not size_matches(found.path, found.size):
            raise NotFoundError(
                f"object {found.id!r} is not available: its file changed since registration"
            )
        return found

    def response(
        self,
        object_id: str,
        part: str,
        exp: int,
        sig: str,
        range_header: str | None,
        *,
        facts: RequestFacts,
    ) -> DataResponse:
        self._signer.check(object_id, part, exp, sig)
        if match := _BYTES_PART.match(part):
            stored = self._objects.stored_file(object_id)
            stored = self._available(self._consented(stored, stored.data_object_id, facts))
            start, end = int(match.group(1)), int(match.group(2))
            if not start <= end <= stored.size:
                raise InvalidInputError("the data URL names bytes outside the object")
            return self._bytes(stored, start, end, range_header)
        if match := _TRANSCODE_PART.match(part):
            obj = self._objects.get(object_id)
            obj = self._available(self._consented(obj, obj.id, facts))
            _served, kind, regions = match.groups()
            body = transcoded(
                obj.path,
                obj.index_path,
                obj.format,
                header_only=kind == "header",
                regions=decode_regions(regions),
                reference=self._settings.htsget.reference_fasta,
            )
            return DataResponse(200, {"Cache-Control": "private, no-store"}, stream=body)
        raise InvalidInputError("the data URL's part is not understood")

    def _bytes(
        self, obj: StoredFile, start: int, end: int, range_header: str | None
    ) -> DataResponse:
        length = end - start
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
        sub = _sub_range(range_header, length)
        if sub is None:
            headers["Content-Length"] = str(length)
            return DataResponse(200, headers, FileSlice(str(obj.path), start, end))
        first, stop = sub
        headers["Content-Length"] = str(stop - first)
        headers["Content-Range"] = f"bytes {first}-{stop - 1}/{length}"
        return DataResponse(206, headers, FileSlice(str(obj.path), start + first, start + stop))
